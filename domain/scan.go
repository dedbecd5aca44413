package domain

import "bytes"

// A text is a JSON body checked and indexed in one pass (scanText); the
// functions below then walk it without checking the grammar again, and
// without scanning a nested value more than once. Offsets are into the
// body; a value's span has no surrounding white space.

// isSpace reports whether c is JSON insignificant white space.
func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r'
}

// skipSpace is the offset of the first byte at or after i that is not white
// space.
func skipSpace(b []byte, i int) int {
	for i < len(b) && isSpace(b[i]) {
		i++
	}
	return i
}

// literalEnd is the offset just past the number, true, false or null that
// starts at b[i].
func literalEnd(b []byte, i int) int {
	j := i + 1
	for j < len(b) && !isSpace(b[j]) && b[j] != ',' && b[j] != '}' && b[j] != ']' {
		j++
	}
	return j
}

// text is a valid JSON text with the end of each of its objects and arrays,
// found in one pass: walking into nested values then costs no rescanning.
type text struct {
	b    []byte
	ends []bounds // in the order the values open
}

// bounds is where an object or array opens and where it ends.
type bounds struct{ open, end int }

// maxDepth is how deeply encoding/json lets objects and arrays nest.
const maxDepth = 10000

// scanText indexes b when it is one JSON value whose objects and arrays
// nest at most limit levels deep, and reports whether it is: with limit
// maxDepth it accepts exactly what json.Valid accepts, in about a third of
// the time, and finds where every object and array ends on the way. ends is
// appended to for the index.
func scanText(b []byte, ends []bounds, limit int) (text, bool) {
	var stack [32]int
	open := stack[:0] // indexes in ends of the values not yet closed
	i := skipSpace(b, 0)
	// Each turn of the loop reads one value at b[i] and what follows it up
	// to the next value, which the last case leaves i at.
	for {
		if i >= len(b) {
			return text{}, false
		}
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(open) == limit {
				return text{}, false
			}
			open = append(open, len(ends))
			ends = append(ends, bounds{open: i})
			i = skipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' or ']': empty
				ends[len(ends)-1].end = i + 1
				open = open[:len(open)-1]
				i++
				break // to the end of a value
			}
			if c == '{' {
				if i = objectKey(b, i); i < 0 {
					return text{}, false
				}
			}
			continue
		case c == '"':
			if i = stringEnd(b, i); i < 0 {
				return text{}, false
			}
		case c == '-' || (c >= '0' && c <= '9'):
			if i = numberEnd(b, i); i < 0 {
				return text{}, false
			}
		case c == 't' && bytes.HasPrefix(b[i:], []byte("true")):
			i += 4
		case c == 'f' && bytes.HasPrefix(b[i:], []byte("false")):
			i += 5
		case c == 'n' && bytes.HasPrefix(b[i:], []byte("null")):
			i += 4
		default:
			return text{}, false
		}
		// A value ended at b[i]: close the objects and arrays that end with
		// it, then step to the next value.
		for {
			i = skipSpace(b, i)
			if len(open) == 0 {
				return text{b: b, ends: ends}, i == len(b)
			}
			if i >= len(b) {
				return text{}, false
			}
			top := &ends[open[len(open)-1]]
			closer := b[top.open] + 2 // '}' or ']'
			if b[i] == closer {
				top.end = i + 1
				open = open[:len(open)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return text{}, false
			}
			i = skipSpace(b, i+1)
			if closer == '}' {
				if i = objectKey(b, i); i < 0 {
					return text{}, false
				}
			}
			break
		}
	}
}

// objectKey checks the key and colon of an object member at b[i] and is the
// offset of its value; -1 when they are not valid JSON.
func objectKey(b []byte, i int) int {
	if i >= len(b) || b[i] != '"' {
		return -1
	}
	if i = stringEnd(b, i); i < 0 {
		return -1
	}
	i = skipSpace(b, i)
	if i >= len(b) || b[i] != ':' {
		return -1
	}
	return skipSpace(b, i+1)
}

// stringEnd is the offset just past the closing quote of the string whose
// opening quote is at b[i]; -1 when the string is not valid JSON.
func stringEnd(b []byte, i int) int {
	for i++; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c < 0x20:
			return -1
		case c != '\\':
			i++
		case i+1 >= len(b):
			return -1
		case b[i+1] == 'u':
			if i+6 > len(b) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) || !isHex(b[i+5]) {
				return -1
			}
			i += 6
		default:
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			default:
				return -1
			}
		}
	}
	return -1
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// numberEnd is the offset just past the number that starts at b[i]; -1 when
// it is not valid JSON.
func numberEnd(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digitsEnd(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i = digitsEnd(b, i+1); i < 0 {
			return -1
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		return digitsEnd(b, i)
	}
	return i
}

// digitsEnd is the offset past the digits at b[i]; -1 when there are none.
func digitsEnd(b []byte, i int) int {
	j := i
	for j < len(b) && b[j] >= '0' && b[j] <= '9' {
		j++
	}
	if j == i {
		return -1
	}
	return j
}

// valueEnd is the offset just past the value that starts at b[i].
func (t *text) valueEnd(i int) int {
	switch t.b[i] {
	case '"':
		return stringEnd(t.b, i)
	case '{', '[':
		lo, hi := 0, len(t.ends)
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			if t.ends[m].open < i {
				lo = m + 1
			} else {
				hi = m
			}
		}
		return t.ends[lo].end
	default:
		return literalEnd(t.b, i)
	}
}

// span is a value in the text: b[start:end].
type span struct{ start, end int }

// member is one member of a JSON object: key is the span of the key between
// its quotes, val the span of the value.
type member struct{ key, val span }

// members iterates over the members of the object whose '{' is at t.b[i];
// the zero members is an empty object:
//
//	it := members{t: t, i: i}
//	for m, ok := it.next(); ok; m, ok = it.next() { … }
type members struct {
	t *text
	i int
}

func (it *members) next() (member, bool) {
	if it.t == nil {
		return member{}, false
	}
	b := it.t.b
	if b[it.i] == '}' {
		return member{}, false
	}
	i := skipSpace(b, it.i+1) // past the '{' or the ','
	if b[i] == '}' {
		it.i = i
		return member{}, false
	}
	ke := stringEnd(b, i)
	v := skipSpace(b, skipSpace(b, ke)+1) // past the ':'
	ve := it.t.valueEnd(v)
	it.i = skipSpace(b, ve) // at the ',' or the '}'
	return member{key: span{i + 1, ke - 1}, val: span{v, ve}}, true
}

// elements iterates over the elements of the array whose '[' is at t.b[i];
// the zero elements is an empty array.
type elements struct {
	t *text
	i int
}

func (it *elements) next() (span, bool) {
	if it.t == nil {
		return span{}, false
	}
	b := it.t.b
	if b[it.i] == ']' {
		return span{}, false
	}
	i := skipSpace(b, it.i+1) // past the '[' or the ','
	if b[i] == ']' {
		it.i = i
		return span{}, false
	}
	e := it.t.valueEnd(i)
	it.i = skipSpace(b, e)
	return span{i, e}, true
}

// appendCompact appends the valid JSON value src to dst without its
// insignificant white space, as json.Compact does.
func appendCompact(dst, src []byte) []byte {
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			e := stringEnd(src, i)
			dst = append(dst, src[i:e]...)
			i = e
		case isSpace(c):
			i++
		default:
			dst = append(dst, c)
			i++
		}
	}
	return dst
}

// hasSpace reports whether the valid JSON value b has white space outside
// its strings, that is whether compacting it would change it.
func hasSpace(b []byte) bool {
	for i := 0; i < len(b); {
		switch c := b[i]; {
		case c == '"':
			i = stringEnd(b, i)
		case isSpace(c):
			return true
		default:
			i++
		}
	}
	return false
}
