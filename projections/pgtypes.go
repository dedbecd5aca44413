package projections

import (
	"reflect"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// useFastUUID teaches the type map of a connection to encode uuid.UUID as
// the [16]byte it is. Without it pgx takes uuid.UUID for a driver.Valuer:
// it formats every id as text and parses it back, which was a tenth of the
// projector's CPU with thousands of ids per batch. The encoding is the same
// either way, so the connection stays fit for every other user of the pool.
// It does nothing on a map that has it already.
func useFastUUID(m *pgtype.Map) {
	if len(m.TryWrapEncodePlanFuncs) > 0 &&
		reflect.ValueOf(m.TryWrapEncodePlanFuncs[0]).Pointer() == reflect.ValueOf(tryWrapUUIDEncodePlan).Pointer() {
		return
	}
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{tryWrapUUIDEncodePlan}, m.TryWrapEncodePlanFuncs...)
	// Registering a type again drops the encode plans memoized so far,
	// which may hold the slow plan.
	if t, ok := m.TypeForOID(pgtype.UUIDOID); ok {
		m.RegisterType(t)
	}
}

func tryWrapUUIDEncodePlan(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if u, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, [16]byte(u), true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode([16]byte(value.(uuid.UUID)), buf)
}
