package domain

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PostgreSQL stores text only as valid UTF-8 without NUL characters; jsonb
// moreover refuses the escape \u0000, an escape of half a surrogate pair
// (\ud800 alone) and numbers beyond numeric. What people send wam is
// refused when it breaks these rules (TextProblem, CheckText,
// CheckJSONText), so that they can put it right. What Meta sends is made
// storable instead (StorableText, StorableJSON): refusing it would lose it,
// since Meta does not send it again.

// A flaw is what makes a piece of text unstorable.
type flaw uint8

const (
	flawNone      flaw = iota
	flawNUL            // a NUL character, or in JSON the escape \u0000
	flawUTF8           // a byte that is not part of valid UTF-8
	flawSurrogate      // in JSON, an escape of half a surrogate pair
)

// problem says what the text must be, for a message naming its field.
func (f flaw) problem() string {
	switch f {
	case flawNUL:
		return "must not contain NUL characters"
	case flawUTF8:
		return "must be valid UTF-8"
	case flawSurrogate:
		return `must not contain unpaired surrogates (such as \ud800)`
	}
	return ""
}

// width is how many bytes of JSON text the flaw spans.
func (f flaw) width() int {
	if f == flawUTF8 {
		return 1 // each byte of a bad sequence, as encoding/json replaces them
	}
	return len(`\u0000`)
}

// textFlaw is the first flaw of s.
func textFlaw(s string) flaw {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return flawNone
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == 0:
			return flawNUL
		case r == utf8.RuneError && n == 1:
			return flawUTF8
		}
		i += n
	}
	return flawNone
}

// TextProblem says why PostgreSQL cannot store s as text ("must be valid
// UTF-8", "must not contain NUL characters"); "" when it can.
func TextProblem(s string) string { return textFlaw(s).problem() }

// CheckText is an ErrInvalid error naming field when PostgreSQL cannot store
// s as text; nil when it can.
func CheckText(field, s string) error {
	if p := TextProblem(s); p != "" {
		return Errorf(ErrInvalid, "%s: %s", field, p)
	}
	return nil
}

// StorableText is s with each NUL character and each byte that is not part
// of valid UTF-8 replaced by U+FFFD; s itself, without allocating, when
// there is none.
func StorableText(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*utf8.UTFMax)
	for _, r := range s { // a bad byte comes as utf8.RuneError
		if r == 0 {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	return b.String()
}

// stringFlaw finds the first flaw in the JSON string whose content (after
// the opening quote) starts at b[i]: its offset, or the offset of the
// closing quote and flawNone. The string's escapes are taken to be well
// formed, as they are in valid JSON.
func stringFlaw(b []byte, i int) (int, flaw) {
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			return i, flawNone
		case c == '\\' && i+6 <= len(b) && b[i+1] == 'u':
			switch r := hex4(b[i+2 : i+6]); {
			case r == 0:
				return i, flawNUL
			case r >= 0xDC00 && r < 0xE000:
				return i, flawSurrogate // a low half without its high one
			case r >= 0xD800 && r < 0xDC00:
				if i+12 > len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
					return i, flawSurrogate
				}
				if lo := hex4(b[i+8 : i+12]); lo < 0xDC00 || lo >= 0xE000 {
					return i, flawSurrogate
				}
				i += 12
			default:
				i += 6
			}
		case c == '\\':
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n == 1 {
				return i, flawUTF8
			}
			i += n
		}
	}
	return len(b), flawNone
}

// hex4 is the value of four hex digits.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// CheckJSONText finds the first string or object key of the JSON text raw
// that PostgreSQL could not store, decoded or as jsonb: raw bytes that are
// not UTF-8, the escape \u0000 (a NUL once decoded) and unpaired surrogate
// escapes (which encoding/json quietly turns into U+FFFD, and jsonb
// refuses): so it reads the raw bytes, not what a decoder makes of them. It is an ErrInvalid error naming the field as the contract's
// errors do ("tags.1: must not contain NUL characters", "body" for the text
// itself); nil when there is none, or when raw is not valid JSON, which is
// for a JSON parser to report.
func CheckJSONText(raw []byte) error {
	if !json.Valid(raw) {
		return nil
	}
	// One frame per open object or array: where in it the walk is.
	type frame struct {
		array   bool
		index   int
		key     span // of the current member's key, between its quotes
		wantKey bool // the next string is a key
	}
	var stack []frame
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '{':
			stack = append(stack, frame{wantKey: true})
		case '[':
			stack = append(stack, frame{array: true})
		case '}', ']':
			stack = stack[:len(stack)-1]
		case ',':
			if top := &stack[len(stack)-1]; top.array {
				top.index++
			} else {
				top.wantKey = true
			}
		case '"':
			_, f := stringFlaw(raw, i+1)
			end := stringEnd(raw, i) // just past the closing quote
			if n := len(stack); n > 0 && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = span{i + 1, end - 1}, false
			}
			if f != flawNone {
				path := make([]string, len(stack))
				for k, fr := range stack {
					if fr.array {
						path[k] = strconv.Itoa(fr.index)
					} else {
						path[k] = jsonKeyName(raw, fr.key)
					}
				}
				field := strings.Join(path, ".")
				if field == "" {
					field = "body"
				}
				return Errorf(ErrInvalid, "%s: %s", field, f.problem())
			}
			i = end - 1
		}
	}
	return nil
}

// jsonKeyName is the object key between its quotes at k, made fit to be
// shown in a message.
func jsonKeyName(raw []byte, k span) string {
	var s string
	if json.Unmarshal(raw[k.start-1:k.end+1], &s) != nil {
		s = string(raw[k.start:k.end])
	}
	return clip(StorableText(s), 60)
}

// StorableJSON is the valid JSON text raw made fit for jsonb: the escape
// \u0000 and escapes of unpaired surrogates become \ufffd, bytes that are
// not UTF-8 become U+FFFD, numbers beyond numeric become strings of their
// literal text, and values nested deeper than MaxNesting become null (cut
// says whether any did: that loses data, which the caller records). It is
// raw itself, without allocating, when there is nothing to change.
func StorableJSON(raw []byte) (out []byte, cut bool) {
	var buf []byte
	fixed := false
	done := 0 // raw[:done] is in buf
	depth := 0
	for i := 0; i < len(raw); {
		switch c := raw[i]; {
		case c == '"':
			i++
			for {
				at, f := stringFlaw(raw, i)
				if f == flawNone {
					i = at + 1
					break
				}
				buf, fixed = append(buf, raw[done:at]...), true
				if f == flawUTF8 {
					buf = append(buf, "\uFFFD"...)
				} else {
					buf = append(buf, `\ufffd`...)
				}
				i = at + f.width()
				done = i
			}
		case c == '{' || c == '[':
			if depth == MaxNesting {
				end := containerEnd(raw, i)
				buf = append(append(buf, raw[done:i]...), "null"...)
				i, done, fixed, cut = end, end, true, true
				continue
			}
			depth++
			i++
		case c == '}' || c == ']':
			depth--
			i++
		case c == '-' || (c >= '0' && c <= '9'):
			end := literalEnd(raw, i)
			if !numericFits(raw[i:end]) {
				buf = append(buf, raw[done:i]...)
				buf = append(append(append(buf, '"'), raw[i:end]...), '"')
				done, fixed = end, true
			}
			i = end
		default:
			i++
		}
	}
	if !fixed {
		return raw, false
	}
	return append(buf, raw[done:]...), cut
}

// containerEnd is the offset just past the object or array of valid JSON
// whose bracket is at b[i].
func containerEnd(b []byte, i int) int {
	depth := 0
	for ; i < len(b); i++ {
		switch b[i] {
		case '"':
			if i = stringEnd(b, i); i < 0 {
				return len(b)
			}
			i--
		case '{', '[':
			depth++
		case '}', ']':
			if depth--; depth == 0 {
				return i + 1
			}
		}
	}
	return len(b)
}

// numericFits tells whether PostgreSQL's numeric holds the JSON number n: at
// most 131072 digits before the decimal point and 16383 after it.
func numericFits(n []byte) bool {
	short := len(n) <= 16383
	for _, c := range n {
		if c == 'e' || c == 'E' {
			short = false
			break
		}
	}
	if short {
		return true // the common case, without converting n
	}
	s, exp := string(n), int64(0)
	mant := s
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		e, err := strconv.ParseInt(s[i+1:], 10, 32)
		if err != nil {
			return false
		}
		mant, exp = s[:i], e
	}
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	if max(int64(len(frac))-exp, 0) > 16383 {
		return false
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart != "" {
		return int64(len(intPart))+exp <= 131072
	}
	lead := strings.IndexFunc(frac, func(r rune) bool { return r != '0' })
	return lead < 0 || exp-int64(lead) <= 131072
}
