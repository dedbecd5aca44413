package domain

import (
	"fmt"
	"strings"
	"sync"

	"github.com/nyaruka/phonenumbers"
)

// ErrInvalidPhone is wrapped by every error NormalizePhone returns. It carries
// the code ErrInvalid, so an API handler answers 400 without special casing.
var ErrInvalidPhone = &Error{Code: ErrInvalid, Message: "invalid phone number"}

// maxPhoneInput bounds the text NormalizePhone looks at: a formatted E.164
// number is never near it, and bigger input is not worth parsing.
const maxPhoneInput = 40

// NormalizePhone returns the E.164 form ("+16505551234") of a phone number
// written with its country code: a wa_id ("16505551234"), a display number
// ("+1 650-555-1234", "15550001111") or anything in between with spaces,
// dashes, dots, slashes or parentheses. A leading "00" is read as the
// international prefix. There is no default region, since Meta always sends
// the country code and guessing one would attach numbers to the wrong
// country. Errors wrap ErrInvalidPhone.
//
// The number has to be possible (a known country code and a length its
// numbering plan allows), not valid: validity also checks the number ranges
// in libphonenumber's metadata, which rejects Meta's test numbers
// (+1 555-0xx-xxxx) and lags behind newly allocated ranges, and a number
// WhatsApp delivered from is real whatever the metadata says.
//
// Mexican mobile numbers that WhatsApp still reports with the "1" Mexico
// dropped in 2019 (521 + 10 digits) are given in today's form, +52 + 10
// digits, so that both spellings of one number meet. Brazilian numbers are
// left as they come: a wa_id without the mobile ninth digit is still a
// possible (landline-length) number, and adding the digit would be a guess.
func NormalizePhone(raw string) (string, error) {
	if len(raw) > maxPhoneInput {
		return normalizePhoneUncached(raw) // not worth remembering
	}
	if a, ok := phoneMemo.get(raw); ok {
		return a.phone, a.err
	}
	p, err := normalizePhoneUncached(raw)
	phoneMemo.put(raw, phoneAnswer{p, err})
	return p, err
}

// normalizePhoneUncached is NormalizePhone without the memo.
func normalizePhoneUncached(raw string) (string, error) {
	p, digits, err := normalizePhone(raw)
	if err != nil {
		return "", err
	}
	// phonenumbers drops a trunk zero after the country code ("+44 (0)20 …"),
	// which makes inputs such as "+81 0 0…" shrink a little on every pass. A
	// result that would not normalize to itself names no single number.
	// Another pass would parse p's digits: when they are the digits just
	// parsed it can only give p again, and is skipped.
	if p[1:] == digits {
		return p, nil
	}
	if again, _, err := normalizePhone(p); err != nil || again != p {
		return "", fmt.Errorf("%w: ambiguous trunk prefix", ErrInvalidPhone)
	}
	return p, nil
}

// normalizePhone is one pass of NormalizePhone. It also gives the digits it
// parsed, country code first.
func normalizePhone(raw string) (phone, digits string, err error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", "", fmt.Errorf("%w: empty", ErrInvalidPhone)
	}
	if len(s) > maxPhoneInput {
		return "", "", fmt.Errorf("%w: too long", ErrInvalidPhone)
	}
	ds := make([]byte, 0, len(s)) // the digits
	for i, c := range s {
		switch {
		case c >= '0' && c <= '9':
			ds = append(ds, byte(c))
		case c == '+' && i == 0:
		case c == ' ' || c == '-' || c == '(' || c == ')' || c == '.' || c == '/':
		default:
			// Letters would be read as a vanity number ("1-800-FLOWERS") or
			// an extension by phonenumbers; neither is a WhatsApp user.
			return "", "", fmt.Errorf("%w: unexpected character %q", ErrInvalidPhone, c)
		}
	}
	if s[0] != '+' && len(ds) > 2 && ds[0] == '0' && ds[1] == '0' {
		ds = ds[2:]
	}
	switch {
	case len(ds) == 0:
		return "", "", fmt.Errorf("%w: no ds", ErrInvalidPhone)
	case ds[0] == '0':
		return "", "", fmt.Errorf("%w: no country code (national format)", ErrInvalidPhone)
	case len(ds) > 15: // E.164 allows at most 15 ds
		return "", "", fmt.Errorf("%w: too long", ErrInvalidPhone)
	}
	num, err := phonenumbers.Parse("+"+string(ds), "")
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidPhone, err)
	}
	if num.GetCountryCode() == 52 {
		if nsn := phonenumbers.GetNationalSignificantNumber(num); len(nsn) == 11 && nsn[0] == '1' {
			if n, err := phonenumbers.Parse("+52"+nsn[1:], ""); err == nil {
				num = n
			}
		}
	}
	switch r := phonenumbers.IsPossibleNumberWithReason(num); r {
	case phonenumbers.IS_POSSIBLE:
	case phonenumbers.TOO_SHORT, phonenumbers.IS_POSSIBLE_LOCAL_ONLY:
		return "", "", fmt.Errorf("%w: too short", ErrInvalidPhone)
	case phonenumbers.TOO_LONG:
		return "", "", fmt.Errorf("%w: too long", ErrInvalidPhone)
	case phonenumbers.INVALID_COUNTRY_CODE:
		return "", "", fmt.Errorf("%w: unknown country code", ErrInvalidPhone)
	default:
		return "", "", fmt.Errorf("%w: impossible length", ErrInvalidPhone)
	}
	return phonenumbers.Format(num, phonenumbers.E164), string(ds), nil
}

// phoneMemo remembers NormalizePhone's recent answers. Parsing with
// phonenumbers runs regular expressions and costs more than decoding the
// rest of a webhook, while a business hears from the same numbers all day.
// The answer depends on the input alone, so the memo changes nothing but
// the time taken; that is why it may be the package-level state our style
// otherwise avoids: NormalizePhone stays a plain function for its callers.
var phoneMemo = memo{max: 100_000} // at most ~10 MB: keys are short

// phoneAnswer is what NormalizePhone returns for one input.
type phoneAnswer struct {
	phone string
	err   error
}

// memo is a map of bounded size safe for concurrent use. When full it is
// emptied rather than evicted piecemeal: the numbers in use come back at
// once, and nothing has to be tracked per lookup.
type memo struct {
	max int
	mu  sync.RWMutex
	m   map[string]phoneAnswer
}

func (c *memo) get(key string) (phoneAnswer, bool) {
	c.mu.RLock()
	a, ok := c.m[key]
	c.mu.RUnlock()
	return a, ok
}

func (c *memo) put(key string, a phoneAnswer) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= c.max {
		c.m = make(map[string]phoneAnswer)
	}
	// The key may be cut from a whole webhook body: a copy does not keep
	// the body alive.
	c.m[strings.Clone(key)] = a
}
