package api

import (
	"encoding/json"
	"io"

	"github.com/oapi-codegen/nullable"
)

func jsonEncode(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// deref is *p, or the zero value for nil: an optional parameter left out.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// null is p as a generated type's nullable field: null for nil.
func null[T any](p *T) nullable.Nullable[T] {
	if p == nil {
		return nullable.NewNullNullable[T]()
	}
	return nullable.NewNullableWithValue(*p)
}

// ptr is a generated type's nullable field as a pointer: nil when absent or
// null.
func ptr[T any](n nullable.Nullable[T]) *T {
	v, err := n.Get()
	if err != nil {
		return nil
	}
	return &v
}
