package domain

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeFast decodes the webhooks that need none of DecodeWebhook's
// tolerance, which is nearly all of them, in one pass over the body: no
// layer of maps, no part of the body validated twice. It gives up (false) at
// the first thing that is not plain: a part of the wrong JSON type, anything
// that would be a problem, an escaped key, a key that encoding/json would
// match to a struct field without case. DecodeWebhook then decodes the body
// the tolerant way, which owns every such case, so that both ways give the
// same Webhook: FuzzDecodeFast holds them to that.
//
// The RawMessages of the result are pieces of one private copy of the body,
// and its strings are pieces of one string copy of it.
func decodeFast(raw []byte) (Webhook, bool) {
	i := skipSpace(raw, 0)
	if i == len(raw) || raw[i] != '{' {
		return Webhook{}, false
	}
	b := bytes.Clone(raw)
	// Room for every object and array, and a few too many: brackets inside
	// strings are counted too. A body nested deeper than MaxNesting is
	// the tolerant decoder's to prune.
	t, ok := scanText(b, make([]bounds, 0, bytes.Count(b, []byte("{"))+bytes.Count(b, []byte("["))), MaxNesting)
	if !ok {
		return Webhook{}, false
	}
	f := fastDecoder{b: b, s: string(raw), t: t}
	w, ok := f.webhook(span{i, t.valueEnd(i)})
	// The parts handed to decoder record problems instead of failing.
	if !ok || len(f.d.problems) > 0 {
		return Webhook{}, false
	}
	return w, true
}

// fastDecoder walks one valid JSON body. Every method returns false when
// the part it decodes is not plain, and the whole body is then left to the
// tolerant decoder.
type fastDecoder struct {
	b []byte // the body, valid JSON
	s string // the same bytes: strings without escapes are cut from it
	t text   // b indexed
	// d decodes the rare parts that are not worth a fast way (template
	// updates, reactions, edits…) exactly as the tolerant decoder does.
	d decoder
}

// absent reports whether a member is missing (the zero span) or null, which
// the tolerant decoder treats alike.
func (f *fastDecoder) absent(v span) bool {
	return v.end == 0 || f.b[v.start] == 'n'
}

// raw is the part at v, its capacity cut so that an append cannot write over
// the rest of the body.
func (f *fastDecoder) raw(v span) json.RawMessage {
	return f.b[v.start:v.end:v.end]
}

// key is the key of m; false when it is escaped, since it could then be any
// name.
func (f *fastDecoder) key(m member) (string, bool) {
	k := f.s[m.key.start:m.key.end]
	return k, strings.IndexByte(k, '\\') < 0
}

// object starts iterating over the members of the object at v. Missing and
// null are an empty object; false when v is something else.
func (f *fastDecoder) object(v span) (members, bool) {
	if f.absent(v) {
		return members{}, true
	}
	return members{t: &f.t, i: v.start}, f.b[v.start] == '{'
}

// array starts iterating over the elements of the array at v. Missing and
// null are an empty array; false when v is something else.
func (f *fastDecoder) array(v span) (elements, bool) {
	if f.absent(v) {
		return elements{}, true
	}
	return elements{t: &f.t, i: v.start}, f.b[v.start] == '['
}

// str is the string at v as json.Unmarshal gives it; false when v is
// another JSON type.
func (f *fastDecoder) str(v span) (string, bool) {
	if f.b[v.start] != '"' {
		return "", false
	}
	in := f.b[v.start+1 : v.end-1]
	if bytes.IndexByte(in, '\\') < 0 && utf8.Valid(in) {
		return f.s[v.start+1 : v.end-1], true
	}
	var s string
	if json.Unmarshal(f.b[v.start:v.end], &s) != nil {
		return "", false
	}
	return s, true
}

// optStr is decoder.str: "" when missing or null.
func (f *fastDecoder) optStr(v span) (string, bool) {
	if f.absent(v) {
		return "", true
	}
	return f.str(v)
}

// number is the text of the JSON integer at v, as numberText gives it.
func (f *fastDecoder) number(v span) (string, bool) {
	text := f.s[v.start:v.end]
	if !isDigits(strings.TrimPrefix(text, "-")) {
		return "", false
	}
	return text, true
}

// id is decoder.id: a string, or the text of an integer.
func (f *fastDecoder) id(v span) (string, bool) {
	if f.absent(v) {
		return "", true
	}
	if s, ok := f.number(v); ok {
		return s, true
	}
	return f.str(v)
}

// unix is decoder.unix, without a problem to record.
func (f *fastDecoder) unix(v span) (time.Time, bool) {
	if f.absent(v) {
		return time.Time{}, true
	}
	text, ok := f.number(v)
	if !ok {
		s, ok := f.str(v)
		if !ok {
			return time.Time{}, false
		}
		text = strings.TrimSpace(s)
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil || n < 0 || n > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// fields finds the members of the object at v that json.Unmarshal would
// decode into the struct fields named names: vals[i] is the value for
// names[i], the zero span when missing. It is false when json.Unmarshal
// could choose otherwise than by exact keys: a key escaped or not ASCII, or
// equal to a name but for case, or a name given twice (nested structs would
// merge both).
func (f *fastDecoder) fields(v span, names []string, vals []span) bool {
	it := members{t: &f.t, i: v.start}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key := f.s[m.key.start:m.key.end]
		for i := 0; i < len(key); i++ {
			if key[i] == '\\' || key[i] >= utf8.RuneSelf {
				return false
			}
		}
		for i, name := range names {
			switch {
			case key == name && vals[i].end != 0:
				return false
			case key == name:
				vals[i] = m.val
			case strings.EqualFold(key, name):
				return false
			}
		}
	}
	return true
}

// fieldBool is a bool struct field: missing and null leave it false. (A
// string field is optStr.)
func (f *fastDecoder) fieldBool(v span) (bool, bool) {
	if f.absent(v) {
		return false, true
	}
	switch f.b[v.start] {
	case 't':
		return true, true
	case 'f':
		return false, true
	}
	return false, false
}

func (f *fastDecoder) webhook(v span) (Webhook, bool) {
	var object, entry span
	it, _ := f.object(v)
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return Webhook{}, false
		case key == "object":
			object = m.val
		case key == "entry":
			entry = m.val
		}
	}
	var w Webhook
	var ok bool
	if w.Object, ok = f.optStr(object); !ok || f.absent(entry) {
		return Webhook{}, false
	}
	entries, ok := f.array(entry)
	if !ok {
		return Webhook{}, false
	}
	n := 0
	for e, ok := entries.next(); ok; e, ok = entries.next() {
		n++
		if w.Changes, ok = f.entry(e, w.Changes); !ok {
			return Webhook{}, false
		}
	}
	return w, n > 0 // no entries is a problem
}

// entry appends the changes of one entry[] element to changes.
func (f *fastDecoder) entry(v span, changes []Change) ([]Change, bool) {
	var id, at, list span
	it, ok := f.object(v)
	if !ok {
		return nil, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return nil, false
		case key == "id":
			id = m.val
		case key == "time":
			at = m.val
		case key == "changes":
			list = m.val
		}
	}
	waba, ok1 := f.id(id)
	t, ok2 := f.unix(at)
	elems, ok3 := f.array(list)
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	for c, ok := elems.next(); ok; c, ok = elems.next() {
		ch, ok := f.change(c)
		if !ok {
			return nil, false
		}
		ch.WABAID, ch.EntryTime = waba, t
		changes = append(changes, ch)
	}
	return changes, true
}

func (f *fastDecoder) change(v span) (Change, bool) {
	var field, value span
	it, ok := f.object(v)
	if !ok {
		return Change{}, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return Change{}, false
		case key == "field":
			field = m.val
		case key == "value":
			value = m.val
		}
	}
	var ch Change
	if ch.Field, ok = f.optStr(field); !ok {
		return Change{}, false
	}
	if !f.absent(value) {
		ch.Value = f.raw(value)
	}
	switch ch.Field {
	case "messages":
		ok = f.messagesValue(&ch, value)
	case "message_template_status_update":
		f.d.templateValue(&ch, "")
	}
	return ch, ok
}

func (f *fastDecoder) messagesValue(ch *Change, v span) bool {
	var metadata, contacts, messages, statuses, errs span
	it, ok := f.object(v)
	if !ok {
		return false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return false
		case key == "metadata":
			metadata = m.val
		case key == "contacts":
			contacts = m.val
		case key == "messages":
			messages = m.val
		case key == "statuses":
			statuses = m.val
		case key == "errors":
			errs = m.val
		}
	}
	if !f.metadata(ch, metadata) {
		return false
	}
	list, ok := f.array(contacts)
	if !ok {
		return false
	}
	for e, ok := list.next(); ok; e, ok = list.next() {
		ct, ok := f.contact(e)
		if !ok {
			return false
		}
		ch.Contacts = append(ch.Contacts, ct)
	}
	if list, ok = f.array(messages); !ok {
		return false
	}
	for e, ok := list.next(); ok; e, ok = list.next() {
		msg, ok := f.message(e)
		if !ok {
			return false
		}
		ch.Messages = append(ch.Messages, msg)
	}
	if list, ok = f.array(statuses); !ok {
		return false
	}
	for e, ok := list.next(); ok; e, ok = list.next() {
		st, ok := f.status(e)
		if !ok {
			return false
		}
		ch.Statuses = append(ch.Statuses, st)
	}
	ch.Errors, ok = f.errors(errs)
	return ok
}

func (f *fastDecoder) metadata(ch *Change, v span) bool {
	var pnid, display span
	it, ok := f.object(v)
	if !ok {
		return false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return false
		case key == "phone_number_id":
			pnid = m.val
		case key == "display_phone_number":
			display = m.val
		}
	}
	var ok1, ok2 bool
	ch.PhoneNumberID, ok1 = f.id(pnid)
	ch.DisplayPhoneNumber, ok2 = f.id(display)
	return ok1 && ok2
}

func (f *fastDecoder) contact(v span) (Contact, bool) {
	var waID, userID, parent, profile span
	it, ok := f.object(v)
	if !ok {
		return Contact{}, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return Contact{}, false
		case key == "wa_id":
			waID = m.val
		case key == "user_id":
			userID = m.val
		case key == "parent_user_id":
			parent = m.val
		case key == "profile":
			profile = m.val
		}
	}
	var ct Contact
	var ok1, ok2, ok3 bool
	ct.WaID, ok1 = f.id(waID)
	ct.UserID, ok2 = f.optStr(userID)
	ct.ParentUserID, ok3 = f.optStr(parent)
	if !ok1 || !ok2 || !ok3 {
		return Contact{}, false
	}
	ct.Phone = f.d.phone(ct.WaID)
	var name, username span
	if it, ok = f.object(profile); !ok {
		return Contact{}, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return Contact{}, false
		case key == "name":
			name = m.val
		case key == "username":
			username = m.val
		}
	}
	ct.ProfileName, ok1 = f.optStr(name)
	ct.Username, ok2 = f.optStr(username)
	return ct, ok1 && ok2
}

func (f *fastDecoder) message(v span) (InboundMessage, bool) {
	if f.absent(v) || f.b[v.start] != '{' {
		return InboundMessage{}, false // without an id, or not an object
	}
	// The member under the type's name is looked up once the type is known.
	var stack [16]member
	all := stack[:0]
	var id, from, fromUserID, timestamp, context, referral, errs span
	it := members{t: &f.t, i: v.start}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		if !ok {
			return InboundMessage{}, false
		}
		all = append(all, m)
		switch key {
		case "id":
			id = m.val
		case "from":
			from = m.val
		case "from_user_id":
			fromUserID = m.val
		case "timestamp":
			timestamp = m.val
		case "context":
			context = m.val
		case "referral":
			referral = m.val
		case "errors":
			errs = m.val
		}
	}
	msg := InboundMessage{Raw: f.raw(v)}
	var ok1, ok2, ok3, ok4 bool
	msg.WAMID, ok1 = f.optStr(id)
	msg.From, ok2 = f.id(from)
	msg.FromUserID, ok3 = f.optStr(fromUserID)
	msg.Timestamp, ok4 = f.unix(timestamp)
	if !ok1 || !ok2 || !ok3 || !ok4 || msg.WAMID == "" || f.absent(timestamp) {
		return InboundMessage{}, false
	}
	msg.FromPhone = f.d.phone(msg.From)
	p, ok := f.payload(v, all)
	if !ok {
		return InboundMessage{}, false
	}
	msg.Type, msg.Content, msg.TargetWAMID, msg.Preview = p.typ, p.content, p.target, p.preview
	if !f.absent(context) {
		if msg.Context, ok = f.context(context); !ok {
			return InboundMessage{}, false
		}
	}
	if !f.absent(referral) {
		msg.Referral = f.raw(referral)
	}
	msg.Errors, ok = f.errors(errs)
	return msg, ok
}

var contextFields = []string{"from", "id", "forwarded", "frequently_forwarded", "referred_product"}

// context decodes a message's context as decoder.into would into a
// MessageContext.
func (f *fastDecoder) context(v span) (*MessageContext, bool) {
	var vals [5]span
	if f.b[v.start] != '{' || !f.fields(v, contextFields, vals[:]) {
		return nil, false
	}
	var mc MessageContext
	var ok [4]bool
	mc.From, ok[0] = f.optStr(vals[0])
	mc.ID, ok[1] = f.optStr(vals[1])
	mc.Forwarded, ok[2] = f.fieldBool(vals[2])
	mc.FrequentlyForwarded, ok[3] = f.fieldBool(vals[3])
	if !f.absent(vals[4]) {
		mc.ReferredProduct = f.raw(vals[4])
	}
	return &mc, ok[0] && ok[1] && ok[2] && ok[3]
}

// payload is decoder.payload for the message object at v, whose members
// are all.
func (f *fastDecoder) payload(v span, all []member) (payload, bool) {
	var typ, value span
	for _, m := range all {
		if f.s[m.key.start:m.key.end] == "type" {
			typ = m.val
		}
	}
	if f.absent(typ) || f.b[typ.start] != '"' {
		return payload{}, false
	}
	// A plain name: the members are matched to it byte for byte.
	name := f.s[typ.start+1 : typ.end-1]
	for i := 0; i < len(name); i++ {
		if name[i] == '\\' || name[i] >= utf8.RuneSelf {
			return payload{}, false
		}
	}
	if name == "" {
		return payload{}, false
	}
	for _, m := range all {
		if f.s[m.key.start:m.key.end] == name {
			value = m.val
		}
	}
	p := payload{typ: MessageType(name)}
	if f.absent(value) {
		value = span{}
	}
	isObj := value.end != 0 && f.b[value.start] == '{'
	switch {
	case isObj:
		if hasSpace(f.raw(value)) {
			p.content = appendCompact(make([]byte, 0, value.end-value.start), f.raw(value))
		} else {
			p.content = f.raw(value)
		}
	case value.end == 0:
		p.content = json.RawMessage(`{}`)
	}
	// fields reads the members of the type's object for the preview.
	fields := func(names []string, vals []span) bool {
		return !isObj || f.fields(value, names, vals)
	}
	switch p.typ {
	case TypeText, TypeSystem:
		var vals [1]span
		if !fields(bodyFields, vals[:]) {
			return payload{}, false
		}
		body, ok := f.optStr(vals[0])
		if !ok {
			return payload{}, false
		}
		p.preview = body
		if p.typ == TypeSystem {
			p.preview = firstOf(body, "", "System message")
		}
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		var vals [4]span
		if !fields(mediaFields, vals[:]) {
			return payload{}, false
		}
		caption, ok1 := f.optStr(vals[0])
		filename, ok2 := f.optStr(vals[1])
		voice, ok3 := f.fieldBool(vals[2])
		animated, ok4 := f.fieldBool(vals[3])
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return payload{}, false
		}
		p.preview = mediaPreview(p.typ, caption, filename, voice, animated)
	case TypeLocation:
		var vals [2]span
		if !fields(locationFields, vals[:]) {
			return payload{}, false
		}
		name, ok1 := f.optStr(vals[0])
		address, ok2 := f.optStr(vals[1])
		if !ok1 || !ok2 {
			return payload{}, false
		}
		p.preview = "📍 " + firstOf(name, address, "Location")
	case TypeButton:
		var vals [2]span
		if !fields(buttonFields, vals[:]) {
			return payload{}, false
		}
		text, ok1 := f.optStr(vals[0])
		pl, ok2 := f.optStr(vals[1])
		if !ok1 || !ok2 {
			return payload{}, false
		}
		p.preview = firstOf(text, pl, "Button reply")
	case TypeUnsupported:
		p.preview = "Unsupported message"
	case TypeContacts, TypeInteractive, TypeOrder, TypeReaction, TypeEdit, TypeRevoke:
		// Rarer, and each rewrites its content or reads nested members:
		// left to the tolerant code, which the message object is decoded
		// for.
		o, ok := f.d.obj(f.raw(v), "")
		if !ok {
			return payload{}, false
		}
		return f.d.payload(o, "", 0), true
	default:
		// An unknown type: its value is wrapped when it is not an object.
		if !isObj && value.end != 0 {
			c := make([]byte, 0, len(name)+value.end-value.start+5)
			c = append(c, `{"`...)
			c = append(c, name...)
			c = append(c, `":`...)
			c = appendCompact(c, f.raw(value))
			p.content = append(c, '}')
		}
		p.preview = "Unsupported message"
	}
	if p.content == nil {
		return payload{}, false // a known type's value that is not an object: a problem
	}
	p.preview = previewText(p.preview)
	return p, true
}

// The struct fields decoder.payload decodes each type's object into.
var (
	bodyFields     = []string{"body"}
	mediaFields    = []string{"caption", "filename", "voice", "animated"}
	locationFields = []string{"name", "address"}
	buttonFields   = []string{"text", "payload"}
	pricingFields  = []string{"pricing_model", "category", "type", "billable"}
)

func (f *fastDecoder) status(v span) (Status, bool) {
	if f.absent(v) || f.b[v.start] != '{' {
		return Status{}, false // without an id, or not an object
	}
	var id, status, timestamp, recipientID, recipientUserID, recipientType, biz, conversation, pricing, errs span
	it := members{t: &f.t, i: v.start}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return Status{}, false
		case key == "id":
			id = m.val
		case key == "status":
			status = m.val
		case key == "timestamp":
			timestamp = m.val
		case key == "recipient_id":
			recipientID = m.val
		case key == "recipient_user_id":
			recipientUserID = m.val
		case key == "recipient_type":
			recipientType = m.val
		case key == "biz_opaque_callback_data":
			biz = m.val
		case key == "conversation":
			conversation = m.val
		case key == "pricing":
			pricing = m.val
		case key == "errors":
			errs = m.val
		}
	}
	s := Status{Raw: f.raw(v)}
	var ok [7]bool
	var kind string
	s.WAMID, ok[0] = f.optStr(id)
	kind, ok[1] = f.optStr(status)
	s.Status = StatusKind(kind)
	s.Timestamp, ok[2] = f.unix(timestamp)
	s.RecipientID, ok[3] = f.id(recipientID)
	s.RecipientUserID, ok[4] = f.optStr(recipientUserID)
	s.RecipientType, ok[5] = f.optStr(recipientType)
	s.BizOpaqueCallbackData, ok[6] = f.optStr(biz)
	for _, ok := range ok {
		if !ok {
			return Status{}, false
		}
	}
	if s.WAMID == "" || s.Status == "" || f.absent(timestamp) {
		return Status{}, false
	}
	// Group ids are not phone numbers, even when they happen to parse as one.
	if s.RecipientType != "group" {
		s.RecipientPhone = f.d.phone(s.RecipientID)
	}
	var good bool
	if !f.absent(conversation) {
		if s.Conversation, good = f.conversation(conversation); !good {
			return Status{}, false
		}
	}
	if !f.absent(pricing) {
		if s.Pricing, good = f.pricing(pricing); !good {
			return Status{}, false
		}
	}
	s.Errors, good = f.errors(errs)
	return s, good
}

func (f *fastDecoder) conversation(v span) (*StatusConversation, bool) {
	var id, expiration, origin span
	it, ok := f.object(v)
	if !ok {
		return nil, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return nil, false
		case key == "id":
			id = m.val
		case key == "expiration_timestamp":
			expiration = m.val
		case key == "origin":
			origin = m.val
		}
	}
	sc := &StatusConversation{}
	var ok1, ok2 bool
	sc.ID, ok1 = f.optStr(id)
	t, ok2 := f.unix(expiration)
	if !ok1 || !ok2 {
		return nil, false
	}
	if !t.IsZero() {
		sc.ExpirationTimestamp = &t
	}
	var typ span
	if it, ok = f.object(origin); !ok {
		return nil, false
	}
	for m, ok := it.next(); ok; m, ok = it.next() {
		key, ok := f.key(m)
		switch {
		case !ok:
			return nil, false
		case key == "type":
			typ = m.val
		}
	}
	sc.OriginType, ok = f.optStr(typ)
	return sc, ok
}

// pricing decodes a status's pricing as decoder.into would into a Pricing.
func (f *fastDecoder) pricing(v span) (*Pricing, bool) {
	var vals [4]span
	if f.b[v.start] != '{' || !f.fields(v, pricingFields, vals[:]) {
		return nil, false
	}
	pr := &Pricing{}
	var ok [3]bool
	pr.PricingModel, ok[0] = f.optStr(vals[0])
	pr.Category, ok[1] = f.optStr(vals[1])
	pr.Type, ok[2] = f.optStr(vals[2])
	if !f.absent(vals[3]) {
		b, ok := f.fieldBool(vals[3])
		if !ok {
			return nil, false
		}
		pr.Billable = &b
	}
	return pr, ok[0] && ok[1] && ok[2]
}

// errors is decoder.errors.
func (f *fastDecoder) errors(v span) ([]MetaError, bool) {
	list, ok := f.array(v)
	if !ok {
		return nil, false
	}
	var out []MetaError
	for e, ok := list.next(); ok; e, ok = list.next() {
		var title, message, href, code, data span
		it, ok := f.object(e)
		if !ok {
			return nil, false
		}
		for m, ok := it.next(); ok; m, ok = it.next() {
			key, ok := f.key(m)
			switch {
			case !ok:
				return nil, false
			case key == "title":
				title = m.val
			case key == "message":
				message = m.val
			case key == "href":
				href = m.val
			case key == "code":
				code = m.val
			case key == "error_data":
				data = m.val
			}
		}
		var me MetaError
		var ok1, ok2, ok3, ok4 bool
		var text string
		me.Title, ok1 = f.optStr(title)
		me.Message, ok2 = f.optStr(message)
		me.Href, ok3 = f.optStr(href)
		text, ok4 = f.id(code)
		if !ok1 || !ok2 || !ok3 || !ok4 {
			return nil, false
		}
		if text != "" {
			n, err := strconv.ParseInt(text, 10, 32) // as decoder.metaErrors
			if err != nil {
				return nil, false
			}
			me.Code = int(n)
		}
		var details span
		if it, ok = f.object(data); !ok {
			return nil, false
		}
		for m, ok := it.next(); ok; m, ok = it.next() {
			key, ok := f.key(m)
			switch {
			case !ok:
				return nil, false
			case key == "details":
				details = m.val
			}
		}
		if me.Details, ok = f.optStr(details); !ok {
			return nil, false
		}
		out = append(out, me)
	}
	return out, true
}
