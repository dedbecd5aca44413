package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"
)

// sendRequest is a body of POST /{phone-number-id}/messages: a message, or
// a read receipt (status "read").
type sendRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Context          *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`

	Status          string `json:"status"`
	MessageID       string `json:"message_id"`
	TypingIndicator *struct {
		Type string `json:"type"`
	} `json:"typing_indicator"`

	Text        *sendText        `json:"text"`
	Image       *sendMedia       `json:"image"`
	Audio       *sendMedia       `json:"audio"`
	Video       *sendMedia       `json:"video"`
	Document    *sendMedia       `json:"document"`
	Sticker     *sendMedia       `json:"sticker"`
	Location    *sendLocation    `json:"location"`
	Contacts    []sendContact    `json:"contacts"`
	Interactive *sendInteractive `json:"interactive"`
	Template    *sendTemplate    `json:"template"`
	Reaction    *sendReaction    `json:"reaction"`
}

type sendText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url"`
}

type sendMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type sendLocation struct {
	Latitude  flexFloat `json:"latitude"`
	Longitude flexFloat `json:"longitude"`
	Name      string    `json:"name"`
	Address   string    `json:"address"`
}

type sendContact struct {
	Name *struct {
		FormattedName string `json:"formatted_name"`
	} `json:"name"`
}

type sendReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

type sendInteractive struct {
	Type   string `json:"type"`
	Header *struct {
		Type     string     `json:"type"`
		Text     string     `json:"text"`
		Image    *sendMedia `json:"image"`
		Video    *sendMedia `json:"video"`
		Document *sendMedia `json:"document"`
	} `json:"header"`
	Body *struct {
		Text string `json:"text"`
	} `json:"body"`
	Footer *struct {
		Text string `json:"text"`
	} `json:"footer"`
	Action *struct {
		Buttons []struct {
			Type  string `json:"type"`
			Reply struct {
				ID    string `json:"id"`
				Title string `json:"title"`
			} `json:"reply"`
		} `json:"buttons"`
		Button   string `json:"button"`
		Sections []struct {
			Title string    `json:"title"`
			Rows  []listRow `json:"rows"`
		} `json:"sections"`
		Name       string `json:"name"`
		Parameters *struct {
			DisplayText string `json:"display_text"`
			URL         string `json:"url"`
		} `json:"parameters"`
	} `json:"action"`
}

// listRow is a row of a list message, which customers pick from.
type listRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description"`
}

type sendTemplate struct {
	Name     string `json:"name"`
	Language *struct {
		Code   string `json:"code"`
		Policy string `json:"policy"`
	} `json:"language"`
	Components []struct {
		Type       string            `json:"type"`
		SubType    string            `json:"sub_type"`
		Index      flexFloat         `json:"index"` // Meta takes 0 and "0"
		Parameters []json.RawMessage `json:"parameters"`
	} `json:"components"`
}

// flexFloat reads a JSON number or a string holding one, as the Graph API
// does for latitudes and button indexes.
type flexFloat float64

func (f *flexFloat) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("%s is not a number", b)
	}
	*f = flexFloat(v)
	return nil
}

// Limits of message objects, from Meta's reference (see META.md).
const (
	maxTextBody        = 4096
	maxCaption         = 1024
	maxInteractiveBody = 1024
	maxHeaderText      = 60
	maxFooterText      = 60
	maxReplyButtons    = 3
	maxButtonTitle     = 20
	maxButtonID        = 256
	maxListButton      = 20
	maxSections        = 10
	maxSectionTitle    = 24
	maxListRows        = 10
	maxRowID           = 200
	maxRowTitle        = 24
	maxRowDescription  = 72
	maxContacts        = 5
	maxCTADisplayText  = 20
	maxCallbackData    = 512
)

// decodeSend reads body into a sendRequest; a body that is not one is
// error 100 naming the parameter.
func decodeSend(body []byte) (*sendRequest, *simError) {
	var req sendRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&req); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, errParam("Param %s must be %s", te.Field, jsonKind(te.Type.Kind().String()))
		}
		return nil, errParam("The request body is not a JSON object: %v", err)
	}
	return &req, nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "struct", "ptr", "map":
		return "an object"
	case "slice":
		return "an array"
	case "bool":
		return "a boolean"
	default:
		return "a number"
	}
}

// sendCheck collects the first problem of a message: Meta names one.
type sendCheck struct{ err *simError }

func (c *sendCheck) fail(format string, args ...any) {
	if c.err == nil {
		c.err = errParam(format, args...)
	}
}

func (c *sendCheck) required(param, v string) {
	if strings.TrimSpace(v) == "" {
		c.fail("Param %s is required", param)
	}
}

// maxLen checks v's length in characters.
func (c *sendCheck) maxLen(param, v string, limit int) {
	if n := utf8.RuneCountInString(v); n > limit {
		c.fail("Param %s must be at most %d characters long; it has %d", param, limit, n)
	}
}

func (c *sendCheck) count(param string, n, least, most int) {
	if n < least || n > most {
		c.fail("Param %s must have %d to %d entries; it has %d", param, least, most, n)
	}
}

// validateMessage checks a message (not a read receipt) as the Graph API
// does before it accepts it, and returns the recipient's wa_id.
func validateMessage(req *sendRequest) (waID string, e *simError) {
	var c sendCheck
	if req.MessagingProduct != "whatsapp" {
		c.fail("Param messaging_product must be \"whatsapp\"")
	}
	if req.RecipientType != "" && req.RecipientType != "individual" {
		c.fail("Param recipient_type must be \"individual\"")
	}
	waID = recipientWaID(req.To)
	if waID == "" {
		c.fail("Param to must be a phone number with its country code, 7 to 15 digits")
	}
	if req.Type == "" {
		req.Type = "text" // Meta's default
	}
	c.maxLen("biz_opaque_callback_data", req.BizOpaqueCallbackData, maxCallbackData)
	if req.Context != nil {
		c.required("context['message_id']", req.Context.MessageID)
	}
	switch req.Type {
	case "text":
		if req.Text == nil {
			c.fail("Param text is required for a message of type text")
			break
		}
		c.required("text['body']", req.Text.Body)
		c.maxLen("text['body']", req.Text.Body, maxTextBody)
	case "image", "audio", "video", "document", "sticker":
		checkMedia(&c, req.Type, req.media())
	case "location":
		checkLocation(&c, req.Location)
	case "contacts":
		c.count("contacts", len(req.Contacts), 1, maxContacts)
		for i, ct := range req.Contacts {
			if ct.Name == nil {
				c.fail("Param contacts[%d]['name'] is required", i)
				continue
			}
			c.required(fmt.Sprintf("contacts[%d]['name']['formatted_name']", i), ct.Name.FormattedName)
		}
	case "interactive":
		checkInteractive(&c, req.Interactive)
	case "template":
		if req.Template == nil {
			c.fail("Param template is required for a message of type template")
			break
		}
		c.required("template['name']", req.Template.Name)
		if req.Template.Language == nil {
			c.fail("Param template['language'] is required")
		} else {
			c.required("template['language']['code']", req.Template.Language.Code)
		}
	case "reaction":
		if req.Reaction == nil {
			c.fail("Param reaction is required for a message of type reaction")
			break
		}
		c.required("reaction['message_id']", req.Reaction.MessageID)
	default:
		c.fail("Param type must be one of text, image, audio, video, document, sticker, location, contacts, interactive, template, reaction")
	}
	return waID, c.err
}

// media is the media object of a media message's type.
func (req *sendRequest) media() *sendMedia {
	switch req.Type {
	case "image":
		return req.Image
	case "audio":
		return req.Audio
	case "video":
		return req.Video
	case "document":
		return req.Document
	case "sticker":
		return req.Sticker
	}
	return nil
}

func checkMedia(c *sendCheck, typ string, m *sendMedia) {
	if m == nil {
		c.fail("Param %s is required for a message of type %s", typ, typ)
		return
	}
	switch {
	case m.ID == "" && m.Link == "":
		c.fail("Param %s must have an id or a link", typ)
	case m.ID != "" && m.Link != "":
		c.fail("Param %s must have an id or a link, not both", typ)
	case m.Link != "" && !httpURL(m.Link):
		c.fail("Param %s['link'] must be an http or https URL", typ)
	}
	if m.Caption != "" && (typ == "audio" || typ == "sticker") {
		c.fail("Param %s['caption'] is not a parameter of %s messages", typ, typ)
	}
	c.maxLen(typ+"['caption']", m.Caption, maxCaption)
	if m.Filename != "" && typ != "document" {
		c.fail("Param %s['filename'] is a parameter of document messages only", typ)
	}
}

func checkLocation(c *sendCheck, l *sendLocation) {
	if l == nil {
		c.fail("Param location is required for a message of type location")
		return
	}
	if l.Latitude < -90 || l.Latitude > 90 {
		c.fail("Param location['latitude'] must be from -90 to 90")
	}
	if l.Longitude < -180 || l.Longitude > 180 {
		c.fail("Param location['longitude'] must be from -180 to 180")
	}
}

func checkInteractive(c *sendCheck, in *sendInteractive) {
	if in == nil {
		c.fail("Param interactive is required for a message of type interactive")
		return
	}
	if h := in.Header; h != nil {
		switch h.Type {
		case "text":
			c.required("interactive['header']['text']", h.Text)
			c.maxLen("interactive['header']['text']", h.Text, maxHeaderText)
		case "image", "video", "document":
			if in.Type == "list" {
				c.fail("Param interactive['header']['type'] of a list message must be text")
			}
			m := map[string]*sendMedia{"image": h.Image, "video": h.Video, "document": h.Document}[h.Type]
			checkMedia(c, "interactive['header']['"+h.Type+"']", m)
		default:
			c.fail("Param interactive['header']['type'] must be text, image, video or document")
		}
	}
	if in.Body == nil {
		c.fail("Param interactive['body'] is required")
	} else {
		c.required("interactive['body']['text']", in.Body.Text)
		c.maxLen("interactive['body']['text']", in.Body.Text, maxInteractiveBody)
	}
	if in.Footer != nil {
		c.maxLen("interactive['footer']['text']", in.Footer.Text, maxFooterText)
	}
	a := in.Action
	if a == nil {
		c.fail("Param interactive['action'] is required")
		return
	}
	switch in.Type {
	case "button":
		c.count("interactive['action']['buttons']", len(a.Buttons), 1, maxReplyButtons)
		ids, titles := map[string]bool{}, map[string]bool{}
		for i, b := range a.Buttons {
			p := fmt.Sprintf("interactive['action']['buttons'][%d]", i)
			if b.Type != "reply" {
				c.fail("Param %s['type'] must be reply", p)
			}
			c.required(p+"['reply']['id']", b.Reply.ID)
			c.maxLen(p+"['reply']['id']", b.Reply.ID, maxButtonID)
			c.required(p+"['reply']['title']", b.Reply.Title)
			c.maxLen(p+"['reply']['title']", b.Reply.Title, maxButtonTitle)
			if ids[b.Reply.ID] || titles[b.Reply.Title] {
				c.fail("Param %s['reply'] must have an id and a title unlike the other buttons'", p)
			}
			ids[b.Reply.ID], titles[b.Reply.Title] = true, true
		}
	case "list":
		c.required("interactive['action']['button']", a.Button)
		c.maxLen("interactive['action']['button']", a.Button, maxListButton)
		c.count("interactive['action']['sections']", len(a.Sections), 1, maxSections)
		rows, ids := 0, map[string]bool{}
		for i, sec := range a.Sections {
			p := fmt.Sprintf("interactive['action']['sections'][%d]", i)
			if len(a.Sections) > 1 {
				c.required(p+"['title']", sec.Title)
			}
			c.maxLen(p+"['title']", sec.Title, maxSectionTitle)
			if len(sec.Rows) == 0 {
				c.fail("Param %s['rows'] must have at least one row", p)
			}
			for j, r := range sec.Rows {
				rp := fmt.Sprintf("%s['rows'][%d]", p, j)
				c.required(rp+"['id']", r.ID)
				c.maxLen(rp+"['id']", r.ID, maxRowID)
				c.required(rp+"['title']", r.Title)
				c.maxLen(rp+"['title']", r.Title, maxRowTitle)
				c.maxLen(rp+"['description']", r.Description, maxRowDescription)
				if ids[r.ID] {
					c.fail("Param %s['id'] must be unlike the other rows' ids", rp)
				}
				ids[r.ID] = true
			}
			rows += len(sec.Rows)
		}
		if rows > maxListRows {
			c.fail("Param interactive['action']['sections'] must have at most %d rows in all; it has %d", maxListRows, rows)
		}
	case "cta_url":
		if a.Name != "cta_url" || a.Parameters == nil {
			c.fail("Param interactive['action'] of a cta_url message must be {name: \"cta_url\", parameters: {display_text, url}}")
			return
		}
		c.required("interactive['action']['parameters']['display_text']", a.Parameters.DisplayText)
		c.maxLen("interactive['action']['parameters']['display_text']", a.Parameters.DisplayText, maxCTADisplayText)
		if !httpURL(a.Parameters.URL) {
			c.fail("Param interactive['action']['parameters']['url'] must be an http or https URL")
		}
	case "location_request_message":
		if a.Name != "send_location" {
			c.fail("Param interactive['action']['name'] of a location_request_message must be send_location")
		}
		if in.Header != nil {
			c.fail("Param interactive['header'] is not a parameter of location_request_message")
		}
	case "flow", "product", "product_list", "catalog_message":
		// Accepted as they come: wam does not send them yet.
	default:
		c.fail("Param interactive['type'] must be one of button, list, cta_url, location_request_message, flow, product, product_list, catalog_message")
	}
}

// recipientWaID is the wa_id of the phone number to: its digits, when there
// are 7 to 15 of them and nothing but a leading + and separators besides.
func recipientWaID(to string) string {
	var b strings.Builder
	for i, r := range to {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0, r == ' ', r == '-', r == '(', r == ')', r == '.':
		default:
			return ""
		}
	}
	if b.Len() < 7 || b.Len() > 15 || strings.HasPrefix(b.String(), "0") {
		return ""
	}
	return b.String()
}

func httpURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
