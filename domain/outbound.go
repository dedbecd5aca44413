package domain

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// Outbound is a message to send, shaped as the Cloud API's message object
// (POST /{phone-number-id}/messages) without its envelope (to,
// messaging_product, recipient_type, biz_opaque_callback_data): a type and
// the object of that type, and optionally the message it replies to.
//
// Media is named by a wam media upload's id (Media.ID, which the sender
// exchanges for Meta's media id) or by a public link.
type Outbound struct {
	Type        MessageType      `json:"type"`
	Text        *OutText         `json:"text,omitempty"`
	Image       *OutMedia        `json:"image,omitempty"`
	Audio       *OutMedia        `json:"audio,omitempty"`
	Video       *OutMedia        `json:"video,omitempty"`
	Document    *OutMedia        `json:"document,omitempty"`
	Sticker     *OutMedia        `json:"sticker,omitempty"`
	Location    *OutLocation     `json:"location,omitempty"`
	Contacts    []OutContact     `json:"contacts,omitempty"`
	Interactive *OutInteractive  `json:"interactive,omitempty"`
	Template    *OutTemplate     `json:"template,omitempty"`
	Reaction    *OutReaction     `json:"reaction,omitempty"`
	Context     *OutboundContext `json:"context,omitempty"`
}

// OutText is a text message.
type OutText struct {
	Body       string `json:"body"`
	PreviewURL bool   `json:"preview_url,omitempty"`
}

// OutMedia is an image, audio, video, document or sticker: one of ID (a
// wam media upload) or Link.
type OutMedia struct {
	ID       string `json:"id,omitempty"`
	Link     string `json:"link,omitempty"`
	Caption  string `json:"caption,omitempty"`
	Filename string `json:"filename,omitempty"`
}

// OutLocation is a location pin.
type OutLocation struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
	Name      string  `json:"name,omitempty"`
	Address   string  `json:"address,omitempty"`
}

// OutContact is a contact card, as Meta's contacts[] element: a name is
// required, the rest is passed on as given.
type OutContact struct {
	Name   OutContactName    `json:"name"`
	Phones []json.RawMessage `json:"phones,omitempty"`
	Emails []json.RawMessage `json:"emails,omitempty"`
	Org    json.RawMessage   `json:"org,omitempty"`
	URLs   []json.RawMessage `json:"urls,omitempty"`
}

// OutContactName is a contact card's name.
type OutContactName struct {
	FormattedName string `json:"formatted_name"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
}

// OutInteractive is an interactive message: reply buttons, a list, a
// call-to-action URL button or a location request.
type OutInteractive struct {
	Type   string            `json:"type"` // button, list, cta_url, location_request_message
	Header *OutHeader        `json:"header,omitempty"`
	Body   *OutBodyText      `json:"body,omitempty"`
	Footer *OutBodyText      `json:"footer,omitempty"`
	Action OutInteractAction `json:"action"`
}

// OutHeader is an interactive message's header: text or a media object.
type OutHeader struct {
	Type     string    `json:"type"` // text, image, video, document
	Text     string    `json:"text,omitempty"`
	Image    *OutMedia `json:"image,omitempty"`
	Video    *OutMedia `json:"video,omitempty"`
	Document *OutMedia `json:"document,omitempty"`
}

// OutBodyText is the body or footer of an interactive message.
type OutBodyText struct {
	Text string `json:"text"`
}

// OutInteractAction is what an interactive message offers.
type OutInteractAction struct {
	Buttons    []OutButton     `json:"buttons,omitempty"`    // button
	Button     string          `json:"button,omitempty"`     // list: the text of the button opening it
	Sections   []OutSection    `json:"sections,omitempty"`   // list
	Name       string          `json:"name,omitempty"`       // cta_url, send_location
	Parameters *OutCTAURLParam `json:"parameters,omitempty"` // cta_url
}

// OutButton is a reply button.
type OutButton struct {
	Type  string `json:"type"` // reply
	Reply struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	} `json:"reply"`
}

// OutSection is a section of a list message.
type OutSection struct {
	Title string   `json:"title,omitempty"`
	Rows  []OutRow `json:"rows"`
}

// OutRow is a row of a list message.
type OutRow struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
}

// OutCTAURLParam is a call-to-action URL button.
type OutCTAURLParam struct {
	DisplayText string `json:"display_text"`
	URL         string `json:"url"`
}

// OutTemplate is a template message.
type OutTemplate struct {
	Name       string              `json:"name"`
	Language   OutTemplateLanguage `json:"language"`
	Components []OutComponent      `json:"components,omitempty"`
}

// OutTemplateLanguage names a template's language.
type OutTemplateLanguage struct {
	Code string `json:"code"`
}

// OutComponent fills the parameters of one of a template's components.
type OutComponent struct {
	Type       string         `json:"type"`               // header, body, button
	SubType    string         `json:"sub_type,omitempty"` // button: quick_reply, url, copy_code
	Index      *int           `json:"index,omitempty"`    // button: its position, 0–9
	Parameters []OutParameter `json:"parameters,omitempty"`
}

// OutParameter is one template parameter.
type OutParameter struct {
	Type          string       `json:"type"` // text, currency, date_time, image, video, document, payload, coupon_code
	ParameterName string       `json:"parameter_name,omitempty"`
	Text          string       `json:"text,omitempty"`
	Payload       string       `json:"payload,omitempty"`
	CouponCode    string       `json:"coupon_code,omitempty"`
	Currency      *OutCurrency `json:"currency,omitempty"`
	DateTime      *OutDateTime `json:"date_time,omitempty"`
	Image         *OutMedia    `json:"image,omitempty"`
	Video         *OutMedia    `json:"video,omitempty"`
	Document      *OutMedia    `json:"document,omitempty"`
}

// OutCurrency is a currency parameter.
type OutCurrency struct {
	FallbackValue string `json:"fallback_value"`
	Code          string `json:"code"`
	Amount1000    int64  `json:"amount_1000"`
}

// OutDateTime is a date-time parameter.
type OutDateTime struct {
	FallbackValue string `json:"fallback_value"`
}

// OutReaction reacts to a message; an empty emoji takes the reaction back.
type OutReaction struct {
	MessageID string `json:"message_id"`
	Emoji     string `json:"emoji"`
}

// OutboundContext names the message a reply answers: a wamid (the API
// also takes wam's message id and puts the wamid here).
type OutboundContext struct {
	MessageID string `json:"message_id"`
}

// Meta's limits on outbound messages (characters, not bytes).
const (
	MaxTextBody          = 4096
	MaxCaption           = 1024
	MaxFilename          = 240
	MaxContacts          = 5
	MaxButtons           = 3
	MaxButtonTitle       = 20
	MaxButtonID          = 256
	MaxListButton        = 20
	MaxSections          = 10
	MaxRows              = 10
	MaxRowID             = 200
	MaxRowTitle          = 24
	MaxRowDescription    = 72
	MaxSectionTitle      = 24
	MaxHeaderText        = 60
	MaxInteractiveBody   = 1024
	MaxFooterText        = 60
	MaxCTADisplayText    = 20
	MaxTemplateName      = 512
	MaxTemplateParamText = 32768
	MaxTemplateButtons   = 10
)

// mediaTypes are the message types whose object is an OutMedia.
var mediaTypes = map[MessageType]bool{TypeImage: true, TypeAudio: true, TypeVideo: true, TypeDocument: true, TypeSticker: true}

// IsMedia reports whether t is sent as a media object.
func IsMedia(t MessageType) bool { return mediaTypes[t] }

// Media is the media object of a media message, nil for other types.
func (m *Outbound) Media() *OutMedia {
	switch m.Type {
	case TypeImage:
		return m.Image
	case TypeAudio:
		return m.Audio
	case TypeVideo:
		return m.Video
	case TypeDocument:
		return m.Document
	case TypeSticker:
		return m.Sticker
	}
	return nil
}

// objects are the type objects m carries, by their JSON names.
func (m *Outbound) objects() map[MessageType]bool {
	has := map[MessageType]bool{}
	set := func(t MessageType, present bool) {
		if present {
			has[t] = true
		}
	}
	set(TypeText, m.Text != nil)
	set(TypeImage, m.Image != nil)
	set(TypeAudio, m.Audio != nil)
	set(TypeVideo, m.Video != nil)
	set(TypeDocument, m.Document != nil)
	set(TypeSticker, m.Sticker != nil)
	set(TypeLocation, m.Location != nil)
	set(TypeContacts, m.Contacts != nil)
	set(TypeInteractive, m.Interactive != nil)
	set(TypeTemplate, m.Template != nil)
	set(TypeReaction, m.Reaction != nil)
	return has
}

// Validate checks m against Meta's rules for outbound messages. The error
// is an ErrInvalid naming the field as the API's request body names it
// (text.body, interactive.action.buttons.0.reply.title, …).
func (m *Outbound) Validate() error {
	has := m.objects()
	switch {
	case m.Type == "":
		return invalid("type", "required")
	case !outboundTypes[m.Type]:
		return invalid("type", "one of text, image, audio, video, document, sticker, location, contacts, interactive, template, reaction")
	case !has[m.Type]:
		return invalid(string(m.Type), "required when type is %s", m.Type)
	case len(has) > 1:
		for t := range has {
			if t != m.Type {
				return invalid(string(t), "not allowed when type is %s", m.Type)
			}
		}
	}
	if err := m.validateType(); err != nil {
		return err
	}
	if m.Context != nil && strings.TrimSpace(m.Context.MessageID) == "" {
		return invalid("context.message_id", "required")
	}
	if m.Context != nil && m.Type == TypeReaction {
		return invalid("context", "a reaction names its message in reaction.message_id")
	}
	return nil
}

var outboundTypes = map[MessageType]bool{
	TypeText: true, TypeImage: true, TypeAudio: true, TypeVideo: true, TypeDocument: true, TypeSticker: true,
	TypeLocation: true, TypeContacts: true, TypeInteractive: true, TypeTemplate: true, TypeReaction: true,
}

func (m *Outbound) validateType() error {
	switch m.Type {
	case TypeText:
		return checkLen("text.body", m.Text.Body, 1, MaxTextBody)
	case TypeImage, TypeAudio, TypeVideo, TypeDocument, TypeSticker:
		return validateMedia(string(m.Type), m.Type, m.Media())
	case TypeLocation:
		l := m.Location
		switch {
		case l.Latitude < -90 || l.Latitude > 90:
			return invalid("location.latitude", "between -90 and 90")
		case l.Longitude < -180 || l.Longitude > 180:
			return invalid("location.longitude", "between -180 and 180")
		}
		if err := checkLen("location.name", l.Name, 0, 1000); err != nil {
			return err
		}
		return checkLen("location.address", l.Address, 0, 1000)
	case TypeContacts:
		if len(m.Contacts) < 1 || len(m.Contacts) > MaxContacts {
			return invalid("contacts", "1 to %d contact cards", MaxContacts)
		}
		for i, c := range m.Contacts {
			if err := checkLen(fmt.Sprintf("contacts.%d.name.formatted_name", i), c.Name.FormattedName, 1, 1000); err != nil {
				return err
			}
		}
		return nil
	case TypeInteractive:
		return validateInteractive(m.Interactive)
	case TypeTemplate:
		return validateTemplate(m.Template)
	case TypeReaction:
		if strings.TrimSpace(m.Reaction.MessageID) == "" {
			return invalid("reaction.message_id", "required")
		}
		if utf8.RuneCountInString(m.Reaction.Emoji) > 10 {
			return invalid("reaction.emoji", "one emoji, or empty to take the reaction back")
		}
	}
	return nil
}

func validateMedia(path string, t MessageType, md *OutMedia) error {
	switch {
	case md.ID == "" && md.Link == "":
		return invalid(path, "id (of a media upload) or link required")
	case md.ID != "" && md.Link != "":
		return invalid(path, "id or link, not both")
	}
	if md.Link != "" {
		if err := checkURL(path+".link", md.Link); err != nil {
			return err
		}
	}
	if md.Caption != "" && (t == TypeAudio || t == TypeSticker) {
		return invalid(path+".caption", "%s messages have no caption", t)
	}
	if md.Filename != "" && t != TypeDocument {
		return invalid(path+".filename", "only documents have a file name")
	}
	if err := checkLen(path+".caption", md.Caption, 0, MaxCaption); err != nil {
		return err
	}
	return checkLen(path+".filename", md.Filename, 0, MaxFilename)
}

func validateInteractive(in *OutInteractive) error {
	if err := validateHeader(in); err != nil {
		return err
	}
	if in.Footer != nil {
		if err := checkLen("interactive.footer.text", in.Footer.Text, 1, MaxFooterText); err != nil {
			return err
		}
	}
	if in.Body == nil {
		return invalid("interactive.body", "required")
	}
	if err := checkLen("interactive.body.text", in.Body.Text, 1, MaxInteractiveBody); err != nil {
		return err
	}
	a := in.Action
	switch in.Type {
	case "button":
		if len(a.Buttons) < 1 || len(a.Buttons) > MaxButtons {
			return invalid("interactive.action.buttons", "1 to %d reply buttons", MaxButtons)
		}
		ids, titles := map[string]bool{}, map[string]bool{}
		for i, b := range a.Buttons {
			p := fmt.Sprintf("interactive.action.buttons.%d", i)
			if b.Type != "reply" {
				return invalid(p+".type", "reply")
			}
			if err := checkLen(p+".reply.id", b.Reply.ID, 1, MaxButtonID); err != nil {
				return err
			}
			if err := checkLen(p+".reply.title", b.Reply.Title, 1, MaxButtonTitle); err != nil {
				return err
			}
			if ids[b.Reply.ID] {
				return invalid(p+".reply.id", "another button has this id")
			}
			if titles[b.Reply.Title] {
				return invalid(p+".reply.title", "another button has this title")
			}
			ids[b.Reply.ID], titles[b.Reply.Title] = true, true
		}
	case "list":
		if err := checkLen("interactive.action.button", a.Button, 1, MaxListButton); err != nil {
			return err
		}
		if len(a.Sections) < 1 || len(a.Sections) > MaxSections {
			return invalid("interactive.action.sections", "1 to %d sections", MaxSections)
		}
		rows, ids := 0, map[string]bool{}
		for i, s := range a.Sections {
			p := fmt.Sprintf("interactive.action.sections.%d", i)
			min := 0
			if len(a.Sections) > 1 {
				min = 1 // required when there is more than one
			}
			if err := checkLen(p+".title", s.Title, min, MaxSectionTitle); err != nil {
				return err
			}
			if len(s.Rows) == 0 {
				return invalid(p+".rows", "at least one row")
			}
			for j, r := range s.Rows {
				rp := fmt.Sprintf("%s.rows.%d", p, j)
				rows++
				if rows > MaxRows {
					return invalid(rp, "at most %d rows in all sections together", MaxRows)
				}
				if err := checkLen(rp+".id", r.ID, 1, MaxRowID); err != nil {
					return err
				}
				if ids[r.ID] {
					return invalid(rp+".id", "another row has this id")
				}
				ids[r.ID] = true
				if err := checkLen(rp+".title", r.Title, 1, MaxRowTitle); err != nil {
					return err
				}
				if err := checkLen(rp+".description", r.Description, 0, MaxRowDescription); err != nil {
					return err
				}
			}
		}
	case "cta_url":
		if a.Name != "cta_url" {
			return invalid("interactive.action.name", "cta_url")
		}
		if a.Parameters == nil {
			return invalid("interactive.action.parameters", "required")
		}
		if err := checkLen("interactive.action.parameters.display_text", a.Parameters.DisplayText, 1, MaxCTADisplayText); err != nil {
			return err
		}
		return checkURL("interactive.action.parameters.url", a.Parameters.URL)
	case "location_request_message":
		if a.Name != "send_location" {
			return invalid("interactive.action.name", "send_location")
		}
		if in.Header != nil {
			return invalid("interactive.header", "a location request has no header")
		}
	case "":
		return invalid("interactive.type", "required")
	default:
		return invalid("interactive.type", "one of button, list, cta_url, location_request_message")
	}
	return nil
}

func validateHeader(in *OutInteractive) error {
	h := in.Header
	if h == nil {
		return nil
	}
	switch h.Type {
	case "text":
		return checkLen("interactive.header.text", h.Text, 1, MaxHeaderText)
	case "image", "video", "document":
		if in.Type == "list" {
			return invalid("interactive.header.type", "a list's header is text")
		}
		md := map[string]*OutMedia{"image": h.Image, "video": h.Video, "document": h.Document}[h.Type]
		if md == nil {
			return invalid("interactive.header."+h.Type, "required when the header's type is %s", h.Type)
		}
		return validateMedia("interactive.header."+h.Type, MessageType(h.Type), md)
	case "":
		return invalid("interactive.header.type", "required")
	}
	return invalid("interactive.header.type", "one of text, image, video, document")
}

func validateTemplate(t *OutTemplate) error {
	if err := checkLen("template.name", t.Name, 1, MaxTemplateName); err != nil {
		return err
	}
	if err := checkLen("template.language.code", t.Language.Code, 2, 15); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, c := range t.Components {
		p := fmt.Sprintf("template.components.%d", i)
		key := c.Type
		switch c.Type {
		case "header", "body":
			if c.SubType != "" || c.Index != nil {
				return invalid(p, "sub_type and index are for buttons")
			}
		case "button":
			switch c.SubType {
			case "quick_reply", "url", "copy_code", "flow", "catalog":
			case "":
				return invalid(p+".sub_type", "required for a button")
			default:
				return invalid(p+".sub_type", "one of quick_reply, url, copy_code, flow, catalog")
			}
			if c.Index == nil || *c.Index < 0 || *c.Index >= MaxTemplateButtons {
				return invalid(p+".index", "the button's position, 0 to %d", MaxTemplateButtons-1)
			}
			key = fmt.Sprintf("button %d", *c.Index)
		case "":
			return invalid(p+".type", "required")
		default:
			return invalid(p+".type", "one of header, body, button")
		}
		if seen[key] {
			return invalid(p, "the %s is filled twice", key)
		}
		seen[key] = true
		for j, prm := range c.Parameters {
			if err := validateParameter(fmt.Sprintf("%s.parameters.%d", p, j), c, prm); err != nil {
				return err
			}
		}
	}
	return nil
}

func validateParameter(p string, c OutComponent, prm OutParameter) error {
	switch prm.Type {
	case "text":
		return checkLen(p+".text", prm.Text, 1, MaxTemplateParamText)
	case "currency":
		if prm.Currency == nil {
			return invalid(p+".currency", "required for a currency parameter")
		}
		if len(prm.Currency.Code) != 3 {
			return invalid(p+".currency.code", "an ISO 4217 code such as USD")
		}
		return checkLen(p+".currency.fallback_value", prm.Currency.FallbackValue, 1, 1000)
	case "date_time":
		if prm.DateTime == nil {
			return invalid(p+".date_time", "required for a date_time parameter")
		}
		return checkLen(p+".date_time.fallback_value", prm.DateTime.FallbackValue, 1, 1000)
	case "image", "video", "document":
		if c.Type != "header" {
			return invalid(p+".type", "media parameters fill a header")
		}
		md := map[string]*OutMedia{"image": prm.Image, "video": prm.Video, "document": prm.Document}[prm.Type]
		if md == nil {
			return invalid(p+"."+prm.Type, "required for a %s parameter", prm.Type)
		}
		return validateMedia(p+"."+prm.Type, MessageType(prm.Type), md)
	case "payload":
		if c.Type != "button" {
			return invalid(p+".type", "a payload fills a quick reply button")
		}
		return checkLen(p+".payload", prm.Payload, 1, 1000)
	case "coupon_code":
		return checkLen(p+".coupon_code", prm.CouponCode, 1, 15)
	case "":
		return invalid(p+".type", "required")
	}
	return invalid(p+".type", "one of text, currency, date_time, image, video, document, payload, coupon_code")
}

// Preview is how m reads in a conversation list.
func (m *Outbound) Preview() string {
	var p string
	switch m.Type {
	case TypeText:
		p = m.Text.Body
	case TypeImage, TypeVideo, TypeAudio, TypeDocument, TypeSticker:
		md := m.Media()
		p = mediaPreview(m.Type, md.Caption, md.Filename, false, false)
	case TypeLocation:
		p = "📍 " + firstOf(m.Location.Name, m.Location.Address, "Location")
	case TypeContacts:
		p = "👤 " + m.Contacts[0].Name.FormattedName
	case TypeInteractive:
		p = m.Interactive.Body.Text
	case TypeTemplate:
		p = "Template: " + m.Template.Name
	case TypeReaction:
		p = m.Reaction.Emoji
	}
	return previewText(p)
}

func invalid(field, format string, args ...any) error {
	return Errorf(ErrInvalid, "%s: %s", field, fmt.Sprintf(format, args...))
}

// checkLen checks that s has between min and max characters, and is text
// PostgreSQL can store.
func checkLen(field, s string, min, max int) error {
	if err := CheckText(field, s); err != nil {
		return err
	}
	n := utf8.RuneCountInString(s)
	switch {
	case n == 0 && min > 0:
		return invalid(field, "required")
	case n < min:
		return invalid(field, "at least %d characters", min)
	case n > max:
		return invalid(field, "at most %d characters", max)
	}
	return nil
}

// checkURL checks an absolute http(s) URL.
func checkURL(field, s string) error {
	if err := checkLen(field, s, 1, 2000); err != nil {
		return err
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid(field, "an absolute http or https URL")
	}
	return nil
}

// MediaRefs are every media object m names: its own, an interactive
// header's, and a template's header parameters.
func (m *Outbound) MediaRefs() []*OutMedia {
	var out []*OutMedia
	add := func(md *OutMedia) {
		if md != nil {
			out = append(out, md)
		}
	}
	add(m.Media())
	if in := m.Interactive; in != nil && in.Header != nil {
		add(in.Header.Image)
		add(in.Header.Video)
		add(in.Header.Document)
	}
	if t := m.Template; t != nil {
		for i := range t.Components {
			for j := range t.Components[i].Parameters {
				p := &t.Components[i].Parameters[j]
				add(p.Image)
				add(p.Video)
				add(p.Document)
			}
		}
	}
	return out
}
