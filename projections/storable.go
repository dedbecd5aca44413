package projections

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wam-project/wam/domain"
)

// A value PostgreSQL refuses makes the event that brought it poison. The
// database finds such values only among those a statement is sent, and the
// in-memory merge of a batch leaves some out (a later profile name replaces
// an earlier one, a redelivered message's content is dropped), so whether an
// event was parked would depend on where batches were cut. Prepare checks
// each event on its own instead, and parks it with the SQLSTATE PostgreSQL
// would have given.

// checkStorable reports the first value of w the inbox would write that
// PostgreSQL cannot store.
func checkStorable(w domain.Webhook) error {
	for i, ch := range w.Changes {
		path := fmt.Sprintf("change %d", i)
		switch ch.Field {
		case "messages":
			if err := checkTexts(path, "phone_number_id", ch.PhoneNumberID); err != nil {
				return err
			}
			for _, c := range ch.Contacts {
				if err := checkTexts(path+" contact", "wa_id", c.WaID, "user_id", c.UserID, "phone", c.Phone, "profile name", c.ProfileName); err != nil {
					return err
				}
			}
			for _, m := range ch.Messages {
				if err := checkMessage(path+" message", m); err != nil {
					return err
				}
			}
			for _, s := range ch.Statuses {
				if err := checkStatus(path+" status", s); err != nil {
					return err
				}
			}
		case "message_template_status_update":
			if ts := ch.TemplateStatus; ts != nil {
				if err := checkTexts(path+" template", "waba id", ch.WABAID, "id", ts.TemplateID, "name", ts.TemplateName,
					"language", ts.TemplateLanguage, "event", ts.Event, "reason", ts.Reason); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func checkMessage(path string, m domain.InboundMessage) error {
	if err := checkTexts(path, "id", m.WAMID, "from", m.From, "from_user_id", m.FromUserID, "from phone", m.FromPhone,
		"type", string(m.Type), "preview", m.Preview, "target", m.TargetWAMID); err != nil {
		return err
	}
	path += " " + m.WAMID
	if err := checkJSON(path, "content", m.Content); err != nil {
		return err
	}
	if err := checkJSON(path, "referral", m.Referral); err != nil {
		return err
	}
	if c := m.Context; c != nil {
		if err := checkTexts(path+" context", "from", c.From, "id", c.ID); err != nil {
			return err
		}
		return checkJSON(path+" context", "referred_product", c.ReferredProduct)
	}
	return nil
}

func checkStatus(path string, s domain.Status) error {
	if err := checkTexts(path, "id", s.WAMID, "status", string(s.Status), "recipient_id", s.RecipientID,
		"recipient_user_id", s.RecipientUserID, "recipient phone", s.RecipientPhone,
		"biz_opaque_callback_data", s.BizOpaqueCallbackData); err != nil {
		return err
	}
	path += " " + s.WAMID
	if p := s.Pricing; p != nil {
		if err := checkTexts(path+" pricing", "pricing_model", p.PricingModel, "category", p.Category, "type", p.Type); err != nil {
			return err
		}
	}
	if s.Status == domain.StatusFailed && len(s.Errors) > 0 {
		e := s.Errors[0] // the one the message keeps
		return checkTexts(path+" error", "title", e.Title, "message", e.Message, "details", e.Details)
	}
	return nil
}

// checkTexts checks name, value pairs of text columns.
func checkTexts(path string, pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		s := pairs[i+1]
		switch {
		case !utf8.ValidString(s):
			return notStorable(path, pairs[i], "is not valid UTF-8", "22021")
		case strings.IndexByte(s, 0) >= 0:
			return notStorable(path, pairs[i], "has a NUL character", "22021")
		}
	}
	return nil
}

// checkJSON checks a jsonb value: PostgreSQL refuses the escape \u0000,
// unpaired surrogates, and numbers beyond numeric's range.
func checkJSON(path, name string, raw []byte) error {
	if !utf8.Valid(raw) {
		return notStorable(path, name, "is not valid UTF-8", "22021")
	}
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			end, err := checkJSONString(raw, i+1)
			if err != nil {
				return notStorable(path, name, err.Error(), "22P05")
			}
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end := i + 1
			for end < len(raw) && strings.IndexByte("+-.eE0123456789", raw[end]) >= 0 {
				end++
			}
			if !numericFits(string(raw[i:end])) {
				return notStorable(path, name, fmt.Sprintf("has the number %.40s, beyond PostgreSQL's numeric", raw[i:end]), "22003")
			}
			i = end - 1
		}
	}
	return nil
}

// checkJSONString checks the escapes of the string starting at raw[i] and
// returns the index of its closing quote.
func checkJSONString(raw []byte, i int) (int, error) {
	pending := false // a high surrogate waits for its low one
	for ; i < len(raw) && raw[i] != '"'; i++ {
		if raw[i] != '\\' {
			if pending {
				return 0, errors.New("has an unpaired surrogate escape")
			}
			continue
		}
		i++
		if i >= len(raw) || raw[i] != 'u' {
			if pending {
				return 0, errors.New("has an unpaired surrogate escape")
			}
			continue
		}
		if i+4 >= len(raw) {
			return 0, errors.New("has a truncated \\u escape")
		}
		r, err := strconv.ParseUint(string(raw[i+1:i+5]), 16, 16)
		if err != nil {
			return 0, errors.New("has a bad \\u escape")
		}
		i += 4
		switch {
		case r == 0:
			return 0, errors.New(`has the escape \u0000`)
		case r >= 0xD800 && r < 0xDC00:
			if pending {
				return 0, errors.New("has an unpaired surrogate escape")
			}
			pending = true
		case r >= 0xDC00 && r < 0xE000:
			if !pending {
				return 0, errors.New("has an unpaired surrogate escape")
			}
			pending = false
		default:
			if pending {
				return 0, errors.New("has an unpaired surrogate escape")
			}
		}
	}
	if pending {
		return 0, errors.New("has an unpaired surrogate escape")
	}
	return i, nil
}

// numericFits tells whether PostgreSQL's numeric holds the JSON number n: at
// most 131072 digits before the decimal point and 16383 after it.
func numericFits(n string) bool {
	mant, exp := n, int64(0)
	if i := strings.IndexAny(n, "eE"); i >= 0 {
		e, err := strconv.ParseInt(n[i+1:], 10, 32)
		if err != nil {
			return false
		}
		mant, exp = n[:i], e
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

func notStorable(path, name, why, sqlstate string) error {
	return fmt.Errorf("%s %s %s, which PostgreSQL cannot store (SQLSTATE %s)", path, name, why, sqlstate)
}
