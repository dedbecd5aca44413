package domain

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// PreviewLength is the most runes a message preview has: enough for an inbox
// line, short enough to keep list responses small.
const PreviewLength = 100

// payload is what a message's type decides: its normalized content, the
// message it refers to, and its inbox preview.
type payload struct {
	typ     MessageType
	content json.RawMessage
	target  string
	preview string
}

// payload decodes the type-specific part of the message object o. depth is 1
// for the message inside an edit, whose own edits are not followed.
func (d *decoder) payload(o object, path string, depth int) payload {
	raw, ok := o["type"]
	var typ string
	if !ok || isNull(raw) || json.Unmarshal(raw, &typ) != nil || typ == "" {
		// Keep the message, shown as unsupported: Raw still holds it, and a
		// message that vanished from the inbox would be worse.
		if !ok || isNull(raw) {
			d.problem(path, "message without a type")
		} else {
			d.problem(path+".type", "is %s, not a type name", kindName(raw))
		}
		return payload{typ: TypeUnsupported, content: json.RawMessage(`{}`), preview: "Unsupported message"}
	}
	p := payload{typ: MessageType(typ)}
	v := o[typ]
	if isNull(v) {
		v = nil
	}
	tpath := path + "." + clip(typ, 40)
	var isObj bool
	switch p.typ {
	case TypeContacts:
		p.content = json.RawMessage(`{}`)
		if v != nil {
			p.content = marshalObject(object{"contacts": v})
		}
		p.preview = d.contactsPreview(v, tpath)
	case TypeText, TypeImage, TypeAudio, TypeVideo, TypeDocument, TypeSticker, TypeLocation,
		TypeInteractive, TypeButton, TypeOrder, TypeReaction, TypeSystem, TypeUnsupported,
		TypeEdit, TypeRevoke:
		p.content, isObj = d.content(typ, v, tpath, true)
	default:
		p.content, _ = d.content(typ, v, tpath, false)
		p.preview = "Unsupported message"
	}
	// fields decodes the type's object into dst for the preview, when there
	// is one; a missing object leaves dst zero.
	fields := func(dst any) {
		if isObj {
			d.into(v, dst, tpath)
		}
	}
	switch p.typ {
	case TypeText:
		var f struct {
			Body string `json:"body"`
		}
		fields(&f)
		p.preview = f.Body
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		var f struct {
			Caption  string `json:"caption"`
			Filename string `json:"filename"`
			Voice    bool   `json:"voice"`
			Animated bool   `json:"animated"`
		}
		fields(&f)
		p.preview = mediaPreview(p.typ, f.Caption, f.Filename, f.Voice, f.Animated)
	case TypeLocation:
		var f struct {
			Name    string `json:"name"`
			Address string `json:"address"`
		}
		fields(&f)
		p.preview = "📍 " + firstOf(f.Name, f.Address, "Location")
	case TypeInteractive:
		p.content, p.preview = d.interactive(p.content, isObj, tpath)
	case TypeButton:
		var f struct {
			Text    string `json:"text"`
			Payload string `json:"payload"`
		}
		fields(&f)
		p.preview = firstOf(f.Text, f.Payload, "Button reply")
	case TypeOrder:
		var f struct {
			Text  string            `json:"text"`
			Items []json.RawMessage `json:"product_items"`
		}
		fields(&f)
		p.preview = "🛒 Order"
		switch n := len(f.Items); {
		case n == 1:
			p.preview += ": 1 item"
		case n > 1:
			p.preview += ": " + strconv.Itoa(n) + " items"
		}
		if f.Text != "" {
			p.preview += " · " + f.Text
		}
	case TypeReaction:
		var f struct {
			MessageID string `json:"message_id"`
			Emoji     string `json:"emoji"`
		}
		fields(&f)
		p.target = f.MessageID
		if p.target == "" {
			d.problem(tpath, "reaction without a message_id")
		}
		removed := f.Emoji == ""
		if isObj {
			p.content = withMember(p.content, "removed", json.RawMessage(strconv.FormatBool(removed)))
		} else {
			p.content = marshalObject(object{"removed": json.RawMessage(strconv.FormatBool(removed))})
		}
		if removed {
			p.preview = "Removed a reaction"
		} else {
			p.preview = "Reacted " + f.Emoji
		}
	case TypeSystem:
		var f struct {
			Body string `json:"body"`
		}
		fields(&f)
		p.preview = firstOf(f.Body, "", "System message")
	case TypeUnsupported:
		p.preview = "Unsupported message"
	case TypeEdit:
		var f struct {
			OriginalMessageID string          `json:"original_message_id"`
			Message           json.RawMessage `json:"message"`
		}
		fields(&f)
		p.target = f.OriginalMessageID
		if p.target == "" {
			d.problem(tpath, "edit without an original_message_id")
		}
		p.preview = "Edited a message"
		if depth == 0 && !isNull(f.Message) {
			if inner, ok := d.obj(f.Message, tpath+".message"); ok {
				if ip := d.payload(inner, tpath+".message", depth+1); ip.preview != "" {
					p.preview = "Edited: " + ip.preview
				}
			}
		}
	case TypeRevoke:
		var f struct {
			OriginalMessageID string `json:"original_message_id"`
		}
		fields(&f)
		p.target = f.OriginalMessageID
		if p.target == "" {
			d.problem(tpath, "revoke without an original_message_id")
		}
		p.preview = "Message deleted"
	}
	p.preview = previewText(p.preview)
	return p
}

// content is the object Meta sent under the type key, compacted, and whether
// it was one. Missing gives {}; any other JSON value is wrapped as
// {"<type>": value}, a problem when the type is known to carry an object.
func (d *decoder) content(typ string, v json.RawMessage, path string, known bool) (json.RawMessage, bool) {
	if v == nil {
		return json.RawMessage(`{}`), false
	}
	if kind(v) == '{' {
		var buf bytes.Buffer
		if json.Compact(&buf, v) != nil {
			return json.RawMessage(`{}`), false // v came out of a valid document
		}
		return buf.Bytes(), true
	}
	if known {
		d.problem(path, "is %s, not an object", kindName(v))
	}
	return marshalObject(object{typ: v}), false
}

// interactive adds the decoded flow response to an nfm_reply and gives the
// preview of an interactive reply: the title the user tapped.
func (d *decoder) interactive(content json.RawMessage, isObj bool, path string) (json.RawMessage, string) {
	if !isObj {
		return content, "Interactive reply"
	}
	var f struct {
		Type        string `json:"type"`
		ButtonReply struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply struct {
			Title string `json:"title"`
		} `json:"list_reply"`
		NfmReply struct {
			ResponseJSON string `json:"response_json"`
		} `json:"nfm_reply"`
	}
	d.into(content, &f, path)
	switch f.Type {
	case "button_reply":
		return content, firstOf(f.ButtonReply.Title, "", "Button reply")
	case "list_reply":
		return content, firstOf(f.ListReply.Title, "", "List reply")
	case "nfm_reply":
		resp := strings.TrimSpace(f.NfmReply.ResponseJSON)
		if resp == "" {
			return content, "📋 Form response"
		}
		if !json.Valid([]byte(resp)) {
			d.problem(path+".nfm_reply.response_json", "is not valid JSON")
			return content, "📋 Form response"
		}
		var outer, nfm object
		if json.Unmarshal(content, &outer) != nil || json.Unmarshal(outer["nfm_reply"], &nfm) != nil {
			return content, "📋 Form response"
		}
		if _, taken := nfm["response"]; !taken {
			nfm["response"] = json.RawMessage(resp)
			outer["nfm_reply"] = marshalObject(nfm)
			content = marshalObject(outer)
		}
		return content, "📋 Form response"
	}
	return content, "Interactive reply"
}

// contactsPreview names the first shared contact, and how many others came
// with it.
func (d *decoder) contactsPreview(v json.RawMessage, path string) string {
	list := d.list(v, path)
	if len(list) == 0 {
		return "👤 Contact"
	}
	var c struct {
		Name struct {
			FormattedName string `json:"formatted_name"`
			FirstName     string `json:"first_name"`
			LastName      string `json:"last_name"`
		} `json:"name"`
	}
	d.into(list[0], &c, path+"[0]")
	name := firstOf(c.Name.FormattedName, strings.TrimSpace(c.Name.FirstName+" "+c.Name.LastName), "")
	if name == "" {
		if len(list) == 1 {
			return "👤 Contact"
		}
		return fmt.Sprintf("👤 %d contacts", len(list))
	}
	if len(list) == 1 {
		return "👤 Contact: " + name
	}
	return fmt.Sprintf("👤 Contact: %s (+%d more)", name, len(list)-1)
}

func mediaPreview(t MessageType, caption, filename string, voice, animated bool) string {
	switch t {
	case TypeImage:
		return "📷 " + firstOf(caption, "", "Photo")
	case TypeVideo:
		return "🎥 " + firstOf(caption, "", "Video")
	case TypeAudio:
		if voice {
			return "🎤 Voice message"
		}
		return "🎵 Audio"
	case TypeDocument:
		return "📄 " + firstOf(filename, caption, "Document")
	case TypeSticker:
		if animated {
			return "💟 Animated sticker"
		}
		return "💟 Sticker"
	}
	return ""
}

// firstOf is the first of a, b that is not blank, else fallback.
func firstOf(a, b, fallback string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	if strings.TrimSpace(b) != "" {
		return b
	}
	return fallback
}

// previewText folds s onto one line and cuts it to PreviewLength runes.
func previewText(s string) string {
	if isFolded(s) {
		return s // the common case, without allocating
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= PreviewLength {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:PreviewLength-1])) + "…"
}

// withMember is the JSON object o with member key set to v; o unchanged when
// it is not an object.
func withMember(o json.RawMessage, key string, v json.RawMessage) json.RawMessage {
	var m object
	if json.Unmarshal(o, &m) != nil {
		return o
	}
	m[key] = v
	return marshalObject(m)
}

// marshalObject encodes o without escaping <, > and & as json.Marshal would,
// so that text Meta sent reads the same in Content.
func marshalObject(o object) json.RawMessage {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(o); err != nil {
		// Every member came out of a successful Unmarshal, so this cannot
		// happen; an empty object keeps Content valid if it ever does.
		return json.RawMessage(`{}`)
	}
	return bytes.TrimRight(buf.Bytes(), "\n")
}

// isFolded reports whether previewText would return s as it is: at most
// PreviewLength runes, no white space at either end and only single spaces
// inside.
func isFolded(s string) bool {
	n := 0
	space := true // at the start, a space would be leading
	for _, r := range s {
		if n++; n > PreviewLength {
			return false
		}
		if r == ' ' {
			if space {
				return false
			}
			space = true
			continue
		}
		if unicode.IsSpace(r) {
			return false
		}
		space = false
	}
	return !space || s == ""
}
