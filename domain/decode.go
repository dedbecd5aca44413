package domain

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUndecodable is wrapped by the error DecodeWebhook returns when a body is
// not a webhook at all: not JSON, not a JSON object, or an envelope whose
// "object" or "entry" has the wrong JSON type. Callers keep such a body as
// received (nothing else of it exists) but have nothing to project from it.
var ErrUndecodable = errors.New("undecodable webhook")

// DecodeWebhook decodes the body of a WhatsApp Business Account webhook.
//
// Only a body that is not a webhook envelope at all is an error (wrapping
// ErrUndecodable). Inside a valid envelope every part is decoded on its own:
// a message, status or change that is malformed is recorded in
// Webhook.Problems and the rest is kept, because the rest is real traffic
// that Meta will not deliver again. Messages without an id and statuses
// without an id or a status are dropped (nothing could refer to them or be
// learnt from them); a message whose type is missing or not a string is kept
// as TypeUnsupported; every other malformed field is left at its zero value.
// Unknown fields and unknown types are never a problem: they stay in the
// byte-exact Raw and Value.
//
// InboundMessage.Content is always a JSON object:
//
//   - text, image, audio, video, document, sticker, location, interactive,
//     button, order, system, unsupported, edit, revoke and unknown types: the
//     object Meta sent under the message's type key, compacted but otherwise
//     as sent, escapes and member order included (e.g. {"body":"hi"} for
//     text); Raw has the message byte-exact;
//   - contacts: {"contacts": [...]}, since Meta sends an array;
//   - interactive nfm_reply: as sent, plus nfm_reply.response holding
//     response_json decoded, when it is valid JSON;
//   - reaction: as sent, plus "removed": true|false (Meta omits the emoji when
//     a reaction is taken back);
//   - a type value that is missing is {}; one that is not an object is
//     wrapped as {"<type>": value}.
//
// Edits, revokes and reactions set TargetWAMID to the message they refer to.
//
// A body whose values nest deeper than MaxNesting is decoded from a copy in
// which each such value is null, which is a problem: nothing decoded nests
// that deep, and encoding/json refuses bodies of 10,000 levels. Raw and
// Value then hold that copy's bytes.
//
// The RawMessages of a Webhook may share memory with one another (never
// with raw): treat them as read-only.
func DecodeWebhook(raw []byte) (Webhook, error) {
	if w, ok := decodeFast(raw); ok {
		return w, nil
	}
	return decodeTolerant(raw)
}

// decodeTolerant is DecodeWebhook for any body: every part is decoded on its
// own, so that a bad one becomes a problem and the rest is kept. It is the
// reference decodeFast agrees with.
func decodeTolerant(raw []byte) (Webhook, error) {
	// encoding/json refuses values nested 10,000 levels deep, and nothing
	// read here nests more than a few: such values are read as null.
	raw, cutAt, cut := pruneDeep(raw)
	var env map[string]json.RawMessage
	if kind(raw) != '{' {
		return Webhook{}, fmt.Errorf("%w: body is not a JSON object", ErrUndecodable)
	}
	if err := json.Unmarshal(raw, &env); err != nil {
		return Webhook{}, fmt.Errorf("%w: %v", ErrUndecodable, err)
	}
	var w Webhook
	if v, ok := env["object"]; ok && !isNull(v) {
		if err := json.Unmarshal(v, &w.Object); err != nil {
			return Webhook{}, fmt.Errorf("%w: object is %s, not a string", ErrUndecodable, kindName(v))
		}
	}
	var entries []json.RawMessage
	if v, ok := env["entry"]; ok && !isNull(v) {
		if kind(v) != '[' {
			return Webhook{}, fmt.Errorf("%w: entry is %s, not an array", ErrUndecodable, kindName(v))
		}
		if err := json.Unmarshal(v, &entries); err != nil {
			return Webhook{}, fmt.Errorf("%w: entry: %v", ErrUndecodable, err)
		}
	}
	d := &decoder{}
	if cut != "" {
		d.problem(cutAt, "%s", cut)
	}
	if len(entries) == 0 {
		d.problem("entry", "no entries")
	}
	for i, e := range entries {
		w.Changes = append(w.Changes, d.entry(e, fmt.Sprintf("entry[%d]", i))...)
	}
	w.Problems = d.problems
	return w, nil
}

// decoder collects the problems met while decoding one body.
type decoder struct {
	problems []string
}

func (d *decoder) problem(path, format string, args ...any) {
	d.problems = append(d.problems, path+": "+fmt.Sprintf(format, args...))
}

// object is a JSON object whose members are kept undecoded, so that each can
// be decoded (or fail) on its own.
type object map[string]json.RawMessage

// obj decodes raw as a JSON object; a problem is recorded when it is
// something else. Missing and null give an empty object and no problem.
func (d *decoder) obj(raw json.RawMessage, path string) (object, bool) {
	if isNull(raw) {
		return object{}, true
	}
	var o object
	if kind(raw) != '{' || json.Unmarshal(raw, &o) != nil {
		d.problem(path, "is %s, not an object", kindName(raw))
		return nil, false
	}
	return o, true
}

// list decodes raw as a JSON array; missing and null are empty.
func (d *decoder) list(raw json.RawMessage, path string) []json.RawMessage {
	if isNull(raw) {
		return nil
	}
	var l []json.RawMessage
	if kind(raw) != '[' || json.Unmarshal(raw, &l) != nil {
		d.problem(path, "is %s, not an array", kindName(raw))
		return nil
	}
	return l
}

// str is member key of o as a string: "" when missing or null, and a
// problem when it is another JSON type.
func (d *decoder) str(o object, key, path string) string {
	v, ok := o[key]
	if !ok || isNull(v) {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		d.problem(path+"."+key, "is %s, not a string", kindName(v))
		return ""
	}
	return s
}

// id is member key of o as an identifier: Meta sends ids as strings, but a
// number (seen in test payloads) is taken as its exact decimal text.
func (d *decoder) id(o object, key, path string) string {
	v, ok := o[key]
	if !ok || isNull(v) {
		return ""
	}
	if s, ok := numberText(v); ok {
		return s
	}
	return d.str(o, key, path)
}

// unix is member key of o as Unix seconds, sent as a string of digits or as
// a number; the zero time when missing.
func (d *decoder) unix(o object, key, path string) time.Time {
	v, ok := o[key]
	if !ok || isNull(v) {
		return time.Time{}
	}
	t, err := unixTime(v)
	if err != nil {
		d.problem(path+"."+key, "%v", err)
	}
	return t
}

// into decodes raw into the struct v, recording a problem when some member
// has the wrong JSON type; members that fit are still filled in.
func (d *decoder) into(raw json.RawMessage, v any, path string) {
	if isNull(raw) {
		return
	}
	if kind(raw) != '{' {
		d.problem(path, "is %s, not an object", kindName(raw))
		return
	}
	if err := json.Unmarshal(raw, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			d.problem(path+"."+te.Field, "is %s, not %s", clip(te.Value, 40), te.Type)
			return
		}
		d.problem(path, "%s", clip(err.Error(), 200))
	}
}

// maxUnix is 9999-12-31T23:59:59Z: later times cannot be written as RFC 3339.
const maxUnix = 253402300799

// unixTime parses Unix seconds given as a JSON string of digits or a JSON
// integer.
func unixTime(v json.RawMessage) (time.Time, error) {
	text, ok := numberText(v)
	if !ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return time.Time{}, fmt.Errorf("is %s, not Unix seconds", kindName(v))
		}
		text = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > maxUnix {
		return time.Time{}, fmt.Errorf("%s is not Unix seconds", clip(string(v), 40))
	}
	return time.Unix(n, 0).UTC(), nil
}

// entry decodes one entry[] element into its changes.
func (d *decoder) entry(raw json.RawMessage, path string) []Change {
	o, ok := d.obj(raw, path)
	if !ok {
		return nil
	}
	waba := d.id(o, "id", path)
	at := d.unix(o, "time", path)
	var changes []Change
	for j, c := range d.list(o["changes"], path+".changes") {
		if ch, ok := d.change(c, fmt.Sprintf("%s.changes[%d]", path, j)); ok {
			ch.WABAID = waba
			ch.EntryTime = at
			changes = append(changes, ch)
		}
	}
	return changes
}

// change decodes one changes[] element. A change whose value is malformed is
// still returned with its Field and raw Value.
func (d *decoder) change(raw json.RawMessage, path string) (Change, bool) {
	o, ok := d.obj(raw, path)
	if !ok {
		return Change{}, false
	}
	ch := Change{Field: d.str(o, "field", path)}
	if v, ok := o["value"]; ok && !isNull(v) {
		ch.Value = v
	}
	vpath := path + ".value"
	switch ch.Field {
	case "messages":
		d.messagesValue(&ch, vpath)
	case "message_template_status_update":
		d.templateValue(&ch, vpath)
	}
	return ch, true
}

// messagesValue fills the parts of a "messages" change.
func (d *decoder) messagesValue(ch *Change, path string) {
	v, ok := d.obj(ch.Value, path)
	if !ok {
		return
	}
	if md, ok := d.obj(v["metadata"], path+".metadata"); ok {
		ch.PhoneNumberID = d.id(md, "phone_number_id", path+".metadata")
		ch.DisplayPhoneNumber = d.id(md, "display_phone_number", path+".metadata")
	}
	for i, c := range d.list(v["contacts"], path+".contacts") {
		if ct, ok := d.contact(c, fmt.Sprintf("%s.contacts[%d]", path, i)); ok {
			ch.Contacts = append(ch.Contacts, ct)
		}
	}
	for i, m := range d.list(v["messages"], path+".messages") {
		if msg, ok := d.message(m, fmt.Sprintf("%s.messages[%d]", path, i)); ok {
			ch.Messages = append(ch.Messages, msg)
		}
	}
	for i, s := range d.list(v["statuses"], path+".statuses") {
		if st, ok := d.status(s, fmt.Sprintf("%s.statuses[%d]", path, i)); ok {
			ch.Statuses = append(ch.Statuses, st)
		}
	}
	ch.Errors = d.errors(v["errors"], path+".errors")
}

func (d *decoder) contact(raw json.RawMessage, path string) (Contact, bool) {
	o, ok := d.obj(raw, path)
	if !ok {
		return Contact{}, false
	}
	ct := Contact{
		WaID:         d.id(o, "wa_id", path),
		UserID:       d.str(o, "user_id", path),
		ParentUserID: d.str(o, "parent_user_id", path),
	}
	ct.Phone = d.phone(ct.WaID)
	if p, ok := d.obj(o["profile"], path+".profile"); ok {
		ct.ProfileName = d.str(p, "name", path+".profile")
		ct.Username = d.str(p, "username", path+".profile")
	}
	return ct, true
}

// message decodes one value.messages[] element; false when it has no id.
func (d *decoder) message(raw json.RawMessage, path string) (InboundMessage, bool) {
	o, ok := d.obj(raw, path)
	if !ok {
		return InboundMessage{}, false
	}
	m := InboundMessage{Raw: raw, WAMID: d.str(o, "id", path)}
	if m.WAMID == "" {
		d.problem(path, "message without an id dropped")
		return InboundMessage{}, false
	}
	m.From = d.id(o, "from", path)
	m.FromUserID = d.str(o, "from_user_id", path)
	m.FromPhone = d.phone(m.From)
	m.Timestamp = d.unix(o, "timestamp", path)
	if isNull(o["timestamp"]) {
		d.problem(path, "message without a timestamp")
	}
	p := d.payload(o, path, 0)
	m.Type, m.Content, m.TargetWAMID, m.Preview = p.typ, p.content, p.target, p.preview
	if c, ok := o["context"]; ok && !isNull(c) {
		var mc MessageContext
		d.into(c, &mc, path+".context")
		if isNull(mc.ReferredProduct) {
			mc.ReferredProduct = nil
		}
		m.Context = &mc
	}
	if r, ok := o["referral"]; ok && !isNull(r) {
		m.Referral = r
	}
	m.Errors = d.errors(o["errors"], path+".errors")
	return m, true
}

// status decodes one value.statuses[] element; false when it has no id or
// no status.
func (d *decoder) status(raw json.RawMessage, path string) (Status, bool) {
	o, ok := d.obj(raw, path)
	if !ok {
		return Status{}, false
	}
	s := Status{
		Raw:                   raw,
		WAMID:                 d.str(o, "id", path),
		Status:                StatusKind(d.str(o, "status", path)),
		Timestamp:             d.unix(o, "timestamp", path),
		RecipientID:           d.id(o, "recipient_id", path),
		RecipientUserID:       d.str(o, "recipient_user_id", path),
		RecipientType:         d.str(o, "recipient_type", path),
		BizOpaqueCallbackData: d.str(o, "biz_opaque_callback_data", path),
	}
	if s.WAMID == "" || s.Status == "" {
		d.problem(path, "status without an id or a status dropped")
		return Status{}, false
	}
	if isNull(o["timestamp"]) {
		d.problem(path, "status without a timestamp")
	}
	// Group ids are not phone numbers, even when they happen to parse as one.
	if s.RecipientType != "group" {
		s.RecipientPhone = d.phone(s.RecipientID)
	}
	if c, ok := o["conversation"]; ok && !isNull(c) {
		cpath := path + ".conversation"
		if co, ok := d.obj(c, cpath); ok {
			sc := &StatusConversation{ID: d.str(co, "id", cpath)}
			if t := d.unix(co, "expiration_timestamp", cpath); !t.IsZero() {
				sc.ExpirationTimestamp = &t
			}
			if origin, ok := d.obj(co["origin"], cpath+".origin"); ok {
				sc.OriginType = d.str(origin, "type", cpath+".origin")
			}
			s.Conversation = sc
		}
	}
	if p, ok := o["pricing"]; ok && !isNull(p) {
		var pr Pricing
		d.into(p, &pr, path+".pricing")
		s.Pricing = &pr
	}
	s.Errors = d.errors(o["errors"], path+".errors")
	return s, true
}

// errors decodes an errors[] array Meta attaches to a value, a message or a
// status.
func (d *decoder) errors(raw json.RawMessage, path string) []MetaError {
	var out []MetaError
	for i, e := range d.list(raw, path) {
		epath := fmt.Sprintf("%s[%d]", path, i)
		o, ok := d.obj(e, epath)
		if !ok {
			continue
		}
		me := MetaError{
			Title:   d.str(o, "title", epath),
			Message: d.str(o, "message", epath),
			Href:    d.str(o, "href", epath),
		}
		if code := d.id(o, "code", epath); code != "" {
			// Codes are stored as PostgreSQL integers: a larger one would
			// come back as another number.
			if n, err := strconv.ParseInt(code, 10, 32); err == nil {
				me.Code = int(n)
			} else if errors.Is(err, strconv.ErrRange) {
				d.problem(epath+".code", "%s is out of range", clip(code, 40))
			} else {
				d.problem(epath+".code", "%s is not an integer", clip(code, 40))
			}
		}
		if ed, ok := d.obj(o["error_data"], epath+".error_data"); ok {
			me.Details = d.str(ed, "details", epath+".error_data")
		}
		out = append(out, me)
	}
	return out
}

// templateValue fills TemplateStatus from a message_template_status_update
// value. The template id is a JSON number larger than float64 holds exactly,
// so it is taken as its decimal text, never through a float.
func (d *decoder) templateValue(ch *Change, path string) {
	v, ok := d.obj(ch.Value, path)
	if !ok {
		return
	}
	ts := &TemplateStatusUpdate{
		TemplateName:     d.str(v, "message_template_name", path),
		TemplateLanguage: d.str(v, "message_template_language", path),
		Event:            d.str(v, "event", path),
		Reason:           d.str(v, "reason", path),
		Category:         d.str(v, "message_template_category", path),
	}
	if raw, ok := v["message_template_id"]; ok && !isNull(raw) {
		var n json.Number
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var x any
		if dec.Decode(&x) == nil {
			switch x := x.(type) {
			case json.Number:
				n = x
			case string:
				n = json.Number(x)
			}
		}
		if isDigits(string(n)) {
			ts.TemplateID = string(n)
		} else {
			d.problem(path+".message_template_id", "%s is not a decimal id", clip(string(raw), 40))
		}
	}
	ch.TemplateStatus = ts
}

// numberText is the literal text of raw when it is a JSON integer.
func numberText(raw json.RawMessage) (string, bool) {
	s := string(bytes.TrimSpace(raw))
	if s == "" {
		return "", false
	}
	digits := strings.TrimPrefix(s, "-")
	if !isDigits(digits) {
		return "", false
	}
	return s, true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// kind is the first byte of the JSON value raw: '{', '[', '"', 't', 'f', 'n',
// a digit or '-'; 0 when raw is empty.
func kind(raw []byte) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

// kindName names the JSON type of raw for problem messages.
func kindName(raw []byte) string {
	switch k := kind(raw); {
	case k == '{':
		return "an object"
	case k == '[':
		return "an array"
	case k == '"':
		return "a string"
	case k == 't' || k == 'f':
		return "a boolean"
	case k == 'n':
		return "null"
	case k == '-' || (k >= '0' && k <= '9'):
		return "a number"
	case k == 0:
		return "empty"
	default:
		return "not JSON"
	}
}

func isNull(raw json.RawMessage) bool {
	s := bytes.TrimSpace(raw)
	return len(s) == 0 || string(s) == "null"
}

// phone is the E.164 form of a wa_id, or "" when it is not a phone number
// (empty, a group id, a number phonenumbers rejects). That is not a problem
// worth reporting: the wa_id itself is kept and remains the contact's key.
func (d *decoder) phone(waID string) string {
	if waID == "" {
		return ""
	}
	p, err := NormalizePhone(waID)
	if err != nil {
		return ""
	}
	return p
}

// clip makes s fit a problem message: valid UTF-8 (JSON input may hold
// anything between quotes), and at most n bytes so that a huge bogus value
// cannot blow up a log line.
func clip(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
