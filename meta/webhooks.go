package meta

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// Kinds of webhook that WebhookGen.Next reports. Message kinds are inbound
// messages from a WhatsApp user; status kinds are delivery reports for an
// outbound message of the business, each for a wamid never seen before.
const (
	KindText        = "message.text"
	KindImage       = "message.image"
	KindAudio       = "message.audio"
	KindDocument    = "message.document"
	KindLocation    = "message.location"
	KindButtonReply = "message.interactive"
	KindReaction    = "message.reaction"
	KindButton      = "message.button"

	KindStatusSent      = "status.sent"
	KindStatusDelivered = "status.delivered"
	KindStatusRead      = "status.read"
	KindStatusFailed    = "status.failed"
)

// KindIsStatus reports whether kind is a status kind rather than an inbound
// message kind.
func KindIsStatus(kind string) bool { return strings.HasPrefix(kind, "status.") }

// DefaultSenders is how many distinct WhatsApp users a WebhookGen spreads its
// traffic over unless told otherwise.
const DefaultSenders = 250

// WebhookGen plays Meta's side of one business phone number's webhook
// subscription: it produces webhook bodies byte for byte the way the Cloud
// API sends them (compact JSON, non-ASCII and "/" escaped as Meta's encoder
// does, strings for timestamps and ids), so that signatures, decoders and
// benchmarks meet what production meets.
//
// A generator is deterministic for a given seed and clock, and every wamid it
// issues is unique within it. It is not safe for concurrent use.
type WebhookGen struct {
	phoneNumberID string
	displayPhone  string // digits only, as metadata.display_phone_number carries it
	wabaID        string
	seed          uint64
	rng           *rand.Rand
	now           func() time.Time

	key     uint64 // scrambles the wamid counter so ids do not look sequential
	issued  uint64 // wamids issued so far
	senders []genSender
}

// genSender is a WhatsApp user writing to the business, with the last messages
// exchanged, which replies and reactions refer to.
type genSender struct {
	waID    string
	name    string
	lastIn  string // wamid of the user's last message
	lastOut string // wamid of the business's last message to the user
}

// NewWebhookGen returns a generator for the phone number phoneNumberID (Meta's
// id) whose display number is displayPhone, in the WhatsApp Business Account
// wabaID. The same seed gives the same users and the same sequence of
// webhooks; different seeds give different users, so runs do not share
// conversations.
func NewWebhookGen(phoneNumberID, displayPhone, wabaID string, seed int64) *WebhookGen {
	g := &WebhookGen{
		phoneNumberID: phoneNumberID,
		displayPhone:  genDigits(displayPhone),
		wabaID:        wabaID,
		seed:          uint64(seed),
		now:           time.Now,
	}
	g.WithSenders(DefaultSenders)
	return g
}

// WithSenders spreads the generator's traffic over k users (at least 1) and
// returns g. It restarts the sequence, so call it before producing webhooks.
func (g *WebhookGen) WithSenders(k int) *WebhookGen {
	k = max(k, 1)
	g.rng = rand.New(rand.NewPCG(g.seed, 0x9e3779b97f4a7c15))
	g.key = g.rng.Uint64()
	g.issued = 0
	g.senders = make([]genSender, k)
	seen := make(map[string]bool, k)
	for i := range g.senders {
		waID := g.randomWaID()
		for seen[waID] {
			waID = g.randomWaID()
		}
		seen[waID] = true
		g.senders[i] = genSender{waID: waID, name: genPick(g.rng, genProfileNames)}
	}
	return g
}

// WithClock makes the generator take the timestamps of its webhooks from now
// and returns g; tests use it for reproducible bodies.
func (g *WebhookGen) WithClock(now func() time.Time) *WebhookGen {
	g.now = now
	return g
}

// Senders returns the wa_ids of the users the generator writes as.
func (g *WebhookGen) Senders() []string {
	ids := make([]string, len(g.senders))
	for i, s := range g.senders {
		ids[i] = s.waID
	}
	return ids
}

// Sign returns the X-Hub-Signature-256 header value Meta sends with body:
// "sha256=" and the hex HMAC-SHA256 of the raw bytes under the app secret.
func Sign(body []byte, appSecret string) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Next produces one webhook of a realistic mix: about 70 % inbound messages of
// every supported type, 30 % statuses (sent, delivered, read, failed) for
// outbound messages not reported before. It returns the body, its kind (one
// of the Kind constants) and the wamid it is about.
func (g *WebhookGen) Next() (body []byte, kind, wamid string) {
	switch n := g.rng.IntN(100); {
	case n < 32:
		body, wamid = g.Text()
		return body, KindText, wamid
	case n < 41:
		body, wamid = g.Image()
		return body, KindImage, wamid
	case n < 47:
		body, wamid = g.Audio()
		return body, KindAudio, wamid
	case n < 51:
		body, wamid = g.Document()
		return body, KindDocument, wamid
	case n < 54:
		body, wamid = g.Location()
		return body, KindLocation, wamid
	case n < 60:
		body, wamid = g.ButtonReply()
		return body, KindButtonReply, wamid
	case n < 65:
		body, wamid = g.Reaction()
		return body, KindReaction, wamid
	case n < 70:
		body, wamid = g.Button()
		return body, KindButton, wamid
	case n < 79:
		body, wamid = g.Status("sent")
		return body, KindStatusSent, wamid
	case n < 89:
		body, wamid = g.Status("delivered")
		return body, KindStatusDelivered, wamid
	case n < 97:
		body, wamid = g.Status("read")
		return body, KindStatusRead, wamid
	default:
		body, wamid = g.Status("failed")
		return body, KindStatusFailed, wamid
	}
}

// Text produces a text message of varied length: mostly short chat lines,
// some paragraphs, a few near Meta's 4096-character limit; in several
// languages, with emoji. Some carry a click-to-WhatsApp ad referral, some
// quote an earlier message.
func (g *WebhookGen) Text() (body []byte, wamid string) {
	s := g.sender()
	text := g.text()
	return g.inbound(s, "text", func(m *genObject) {
		m.object("text", func(t *genObject) { t.str("body", text) })
	})
}

// Image produces a photo, often captioned.
func (g *WebhookGen) Image() (body []byte, wamid string) {
	s := g.sender()
	caption := ""
	if g.rng.IntN(100) < 60 {
		caption = g.sentence()
	}
	return g.inbound(s, "image", func(m *genObject) {
		m.object("image", func(o *genObject) {
			if caption != "" {
				o.str("caption", caption)
			}
			g.media(o, "image/jpeg")
		})
	})
}

// Audio produces a voice note recorded in WhatsApp (or now and then an audio
// file the user attached).
func (g *WebhookGen) Audio() (body []byte, wamid string) {
	s := g.sender()
	voice := g.rng.IntN(100) < 85
	mime := "audio/ogg; codecs=opus"
	if !voice {
		mime = "audio/mpeg"
	}
	return g.inbound(s, "audio", func(m *genObject) {
		m.object("audio", func(o *genObject) {
			g.media(o, mime)
			o.literal("voice", strconv.FormatBool(voice))
		})
	})
}

// Document produces a file with its name, sometimes captioned.
func (g *WebhookGen) Document() (body []byte, wamid string) {
	s := g.sender()
	doc := genPick(g.rng, genDocuments)
	caption := ""
	if g.rng.IntN(100) < 30 {
		caption = g.sentence()
	}
	return g.inbound(s, "document", func(m *genObject) {
		m.object("document", func(o *genObject) {
			if caption != "" {
				o.str("caption", caption)
			}
			o.str("filename", doc.name)
			g.media(o, doc.mime)
		})
	})
}

// Location produces a shared location: a named place, or a bare pin.
func (g *WebhookGen) Location() (body []byte, wamid string) {
	s := g.sender()
	p := genPick(g.rng, genPlaces)
	lat := p.lat + (g.rng.Float64()-0.5)/500
	lon := p.lon + (g.rng.Float64()-0.5)/500
	named := g.rng.IntN(100) < 50
	return g.inbound(s, "location", func(m *genObject) {
		m.object("location", func(o *genObject) {
			if named {
				o.str("address", p.address)
			}
			o.literal("latitude", strconv.FormatFloat(lat, 'f', 7, 64))
			o.literal("longitude", strconv.FormatFloat(lon, 'f', 7, 64))
			if named {
				o.str("name", p.name)
				o.str("url", p.url)
			}
		})
	})
}

// ButtonReply produces the user's tap on a reply button of an interactive
// message the business sent (interactive.type "button_reply"), with the
// context naming that message.
func (g *WebhookGen) ButtonReply() (body []byte, wamid string) {
	s := g.sender()
	b := genPick(g.rng, genReplyButtons)
	return g.inboundReplying(s, "interactive", func(m *genObject) {
		m.object("interactive", func(o *genObject) {
			o.str("type", "button_reply")
			o.object("button_reply", func(r *genObject) {
				r.str("id", b.id)
				r.str("title", b.title)
			})
		})
	})
}

// Button produces the user's tap on a quick-reply button of a template
// message (type "button", with payload and text).
func (g *WebhookGen) Button() (body []byte, wamid string) {
	s := g.sender()
	b := genPick(g.rng, genTemplateButtons)
	return g.inboundReplying(s, "button", func(m *genObject) {
		m.object("button", func(o *genObject) {
			o.str("payload", b.id)
			o.str("text", b.title)
		})
	})
}

// Reaction produces an emoji reaction to an earlier message of the
// conversation, mostly one the business sent; one in ten takes a reaction
// back, which Meta reports with the emoji left out.
func (g *WebhookGen) Reaction() (body []byte, wamid string) {
	s := g.sender()
	target := s.lastOut
	if target == "" || (s.lastIn != "" && g.rng.IntN(100) < 25) {
		target = s.lastIn
	}
	if target == "" {
		// Nothing to react to yet: the business's earlier message predates
		// the generator.
		target = g.wamid(s.waID, false)
		s.lastOut = target
	}
	removed := g.rng.IntN(100) < 10
	emoji := genPick(g.rng, genReactionEmoji)
	return g.inbound(s, "reaction", func(m *genObject) {
		m.object("reaction", func(o *genObject) {
			o.str("message_id", target)
			if !removed {
				o.str("emoji", emoji)
			}
		})
	})
}

// Status produces a delivery report ("sent", "delivered", "read" or
// "failed") for a new outbound message to one of the users. Failed statuses
// carry one of the errors Meta reports most; the others carry pricing and,
// on "sent", the conversation object of older webhook versions.
func (g *WebhookGen) Status(status string) (body []byte, wamid string) {
	s := g.sender()
	wamid = g.wamid(s.waID, false)
	s.lastOut = wamid
	at := g.now()
	u := statusUpdate{wamid: wamid, status: status, at: at, recipient: s.waID}
	if status == "failed" {
		u.errs = []genError{genPick(g.rng, genStatusErrors)}
	} else {
		category := genPick(g.rng, genPricingCategories)
		if status == "sent" && g.rng.IntN(100) < 40 {
			u.conversation = &statusConversation{id: g.hexString(16), expires: at.Add(24 * time.Hour).Truncate(time.Minute), origin: category.name}
		}
		u.pricing = &category
	}
	body = messagesEnvelope(g.wabaID, g.displayPhone, g.phoneNumberID, func(v *genObject) {
		v.array("statuses", func(a *genArray) {
			a.object(func(st *genObject) { writeStatus(st, u) })
		})
	})
	return body, wamid
}

// statusUpdate is one entry of a webhook's statuses[].
type statusUpdate struct {
	wamid, status, recipient string
	at                       time.Time
	callback                 string // biz_opaque_callback_data echoed from the send
	conversation             *statusConversation
	pricing                  *genPricing
	errs                     []genError
}

// statusConversation is a status's conversation object; expires is zero
// where Meta leaves expiration_timestamp out (after "sent").
type statusConversation struct {
	id      string
	expires time.Time
	origin  string
}

// writeStatus writes u in Meta's member order; a failed status carries its
// errors and neither conversation nor pricing.
func writeStatus(st *genObject, u statusUpdate) {
	st.str("id", u.wamid)
	st.str("status", u.status)
	st.str("timestamp", genUnix(u.at))
	st.str("recipient_id", u.recipient)
	if u.callback != "" {
		st.str("biz_opaque_callback_data", u.callback)
	}
	if len(u.errs) > 0 {
		st.array("errors", func(a *genArray) {
			for _, e := range u.errs {
				a.object(func(o *genObject) { writeMetaError(o, e) })
			}
		})
		return
	}
	if c := u.conversation; c != nil {
		st.object("conversation", func(o *genObject) {
			o.str("id", c.id)
			if !c.expires.IsZero() {
				o.str("expiration_timestamp", genUnix(c.expires))
			}
			o.object("origin", func(o *genObject) { o.str("type", c.origin) })
		})
	}
	if p := u.pricing; p != nil {
		st.object("pricing", func(o *genObject) {
			o.literal("billable", strconv.FormatBool(p.billable))
			o.str("pricing_model", "PMP")
			o.str("category", p.name)
			o.str("type", p.typ)
		})
	}
}

// inbound writes a message from s of the given type; fill adds the
// type-specific member.
func (g *WebhookGen) inbound(s *genSender, typ string, fill func(m *genObject)) ([]byte, string) {
	return g.inboundWith(s, typ, "", fill)
}

// inboundReplying is inbound for taps on buttons, which always answer a
// message of the business: its wamid goes in the context.
func (g *WebhookGen) inboundReplying(s *genSender, typ string, fill func(m *genObject)) ([]byte, string) {
	if s.lastOut == "" {
		s.lastOut = g.wamid(s.waID, false)
	}
	return g.inboundWith(s, typ, s.lastOut, fill)
}

func (g *WebhookGen) inboundWith(s *genSender, typ, replyTo string, fill func(m *genObject)) ([]byte, string) {
	wamid := g.wamid(s.waID, true)
	at := g.now()
	if replyTo == "" && typ != "reaction" && s.lastOut != "" && g.rng.IntN(100) < 8 {
		replyTo = s.lastOut // the user swiped to quote the business's message
	}
	referral := typ == "text" && replyTo == "" && g.rng.IntN(100) < 20
	in := inboundMessage{waID: s.waID, name: s.name, wamid: wamid, at: at, typ: typ}
	if replyTo != "" {
		in.contextFrom, in.contextID = g.displayPhone, replyTo
	}
	body := messagesEnvelope(g.wabaID, g.displayPhone, g.phoneNumberID, func(v *genObject) {
		writeInbound(v, in, func(m *genObject) {
			fill(m)
			if referral {
				g.referral(m)
			}
		})
	})
	s.lastIn = wamid
	return body, wamid
}

// inboundMessage is what every message from a user carries; contextID is
// the wamid it replies to, contextFrom the business's display number.
type inboundMessage struct {
	waID, name, wamid      string
	at                     time.Time
	typ                    string
	contextFrom, contextID string
}

// writeInbound writes the contacts and messages members of a change value
// for one message of in; fill adds the type-specific member.
func writeInbound(v *genObject, in inboundMessage, fill func(m *genObject)) {
	v.array("contacts", func(a *genArray) {
		a.object(func(c *genObject) {
			c.object("profile", func(p *genObject) { p.str("name", in.name) })
			c.str("wa_id", in.waID)
		})
	})
	v.array("messages", func(a *genArray) {
		a.object(func(m *genObject) {
			if in.contextID != "" {
				m.object("context", func(c *genObject) {
					c.str("from", in.contextFrom)
					c.str("id", in.contextID)
				})
			}
			m.str("from", in.waID)
			m.str("id", in.wamid)
			m.str("timestamp", genUnix(in.at))
			m.str("type", in.typ)
			fill(m)
		})
	})
}

// messagesEnvelope wraps a "messages" change value of phone number
// phoneNumberID (display number displayPhone, digits only) in Meta's
// object/entry/changes structure.
func messagesEnvelope(wabaID, displayPhone, phoneNumberID string, value func(v *genObject)) []byte {
	return webhookEnvelope(wabaID, "messages", time.Time{}, func(v *genObject) {
		v.str("messaging_product", "whatsapp")
		v.object("metadata", func(md *genObject) {
			md.str("display_phone_number", displayPhone)
			md.str("phone_number_id", phoneNumberID)
		})
		value(v)
	})
}

// webhookEnvelope wraps the value of a change of field in Meta's
// object/entry/changes structure; a non-zero at is the entry's time, which
// Meta gives on account-level changes such as template status updates.
func webhookEnvelope(wabaID, field string, at time.Time, value func(v *genObject)) []byte {
	b := bytes.NewBuffer(make([]byte, 0, 2048))
	writeGenObject(b, func(root *genObject) {
		root.str("object", "whatsapp_business_account")
		root.array("entry", func(a *genArray) {
			a.object(func(e *genObject) {
				e.str("id", wabaID)
				if !at.IsZero() {
					e.literal("time", strconv.FormatInt(at.Unix(), 10))
				}
				e.array("changes", func(a *genArray) {
					a.object(func(c *genObject) {
						c.object("value", value)
						c.str("field", field)
					})
				})
			})
		})
	})
	return b.Bytes()
}

// media writes the members every media object has. The direct download url
// is rolling out, so only some webhooks carry it.
func (g *WebhookGen) media(o *genObject, mime string) {
	id := g.numericID(16)
	o.str("mime_type", mime)
	o.str("sha256", g.mediaHash())
	o.str("id", id)
	if g.rng.IntN(100) < 50 {
		o.str("url", "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid="+id+
			"&source=webhook&ext="+strconv.FormatInt(g.now().Unix()+300, 10)+
			"&hash="+g.base64URL(33))
	}
}

// referral writes the click-to-WhatsApp ad that brought the user.
func (g *WebhookGen) referral(m *genObject) {
	ad := genPick(g.rng, genAds)
	m.object("referral", func(r *genObject) {
		r.str("source_url", "https://fb.me/"+g.base64URL(9))
		r.str("source_id", g.numericID(18))
		r.str("source_type", "ad")
		r.str("body", ad.body)
		r.str("headline", ad.headline)
		r.str("media_type", "image")
		r.str("image_url", "https://scontent.xx.fbcdn.net/v/t45.1600-4/"+g.numericID(9)+"_"+g.numericID(17)+
			"_"+g.numericID(19)+"_n.png.jpg?stp=dst-jpg_tt6&_nc_cat=10"+strconv.Itoa(g.rng.IntN(10))+
			"&ccb=1-7&_nc_sid=5f2048&_nc_ohc="+g.base64URL(20)+"&_nc_ht=scontent.xx&oh=00_"+g.base64URL(41)+
			"&oe="+strings.ToUpper(g.hexString(4)))
		r.str("ctwa_clid", g.base64URL(120))
		r.object("welcome_message", func(w *genObject) { w.str("text", ad.welcome) })
	})
}

// writeMetaError writes an entry of a status's or a value's errors[].
func writeMetaError(o *genObject, e genError) {
	o.literal("code", strconv.Itoa(e.code))
	o.str("title", e.title)
	o.str("message", e.title)
	o.object("error_data", func(d *genObject) { d.str("details", e.details) })
	o.str("href", "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/")
}

func (g *WebhookGen) sender() *genSender { return &g.senders[g.rng.IntN(len(g.senders))] }

// wamid issues a new message id in Meta's format: "wamid." and the base64 of
// a small protobuf holding the user's wa_id, the direction and an id that is
// 20 hex digits for messages from users, 18 for messages of the business.
// The last 16 hex digits are a bijection of the generator's counter, which
// makes every wamid of a generator unique.
func (g *WebhookGen) wamid(waID string, inbound bool) string {
	g.issued++
	x := (g.issued ^ g.key) * 0xbf58476d1ce4e5b9 // odd factor: a bijection on uint64
	id := strings.ToUpper(g.hexString(1)) + genHex16(x)
	if inbound {
		id = "3A" + id
	}
	return encodeWamid(waID, id, inbound)
}

// encodeWamid is the wamid of the message id (hex digits) to or from the
// user waID: "wamid." and the base64 of the small protobuf Meta uses.
func encodeWamid(waID, id string, inbound bool) string {
	dir := byte(0x11)
	if inbound {
		dir = 0x12
	}
	raw := make([]byte, 0, 64)
	raw = append(raw, 0x1c, 0x18, byte(len(waID)))
	raw = append(raw, waID...)
	raw = append(raw, 0x15, 0x02, 0x00, dir, 0x18, byte(len(id)))
	raw = append(raw, id...)
	raw = append(raw, 0x00)
	return "wamid." + base64.StdEncoding.EncodeToString(raw)
}

func genHex16(x uint64) string {
	s := strings.ToUpper(strconv.FormatUint(x, 16))
	return strings.Repeat("0", 16-len(s)) + s
}

// text is a message body: a chat line, a paragraph, or a long message.
func (g *WebhookGen) text() string {
	var limit int
	switch n := g.rng.IntN(100); {
	case n < 35:
		return g.sentence()
	case n < 60:
		limit = 120 + g.rng.IntN(400)
	case n < 88:
		limit = 500 + g.rng.IntN(1000)
	default:
		limit = 1500 + g.rng.IntN(2400) // a last sentence still fits in 4096
	}
	var sb strings.Builder
	for utf8.RuneCountInString(sb.String()) < limit {
		if sb.Len() > 0 {
			if g.rng.IntN(4) == 0 {
				sb.WriteString("\n")
			} else {
				sb.WriteString(" ")
			}
		}
		sb.WriteString(g.sentence())
	}
	return sb.String()
}

// sentence is one line of chat in one of several languages, sometimes with
// emoji; its length varies from a word to a few dozen.
func (g *WebhookGen) sentence() string {
	s := genPick(g.rng, genSentences)
	if g.rng.IntN(100) < 35 {
		s += " " + genPick(g.rng, genTextEmoji)
	}
	return s
}

// randomWaID is the wa_id of a mobile number, valid for its country's
// numbering plan, in one of the countries WhatsApp is big in.
func (g *WebhookGen) randomWaID() string {
	c := genPick(g.rng, genNumberPlans)
	var sb strings.Builder
	sb.WriteString(c.prefix)
	sb.WriteString(genPick(g.rng, c.next))
	sb.WriteByte(c.first[g.rng.IntN(len(c.first))])
	for sb.Len() < c.length {
		sb.WriteByte(byte('0' + g.rng.IntN(10)))
	}
	return sb.String()
}

func (g *WebhookGen) numericID(n int) string {
	b := make([]byte, n)
	b[0] = byte('1' + g.rng.IntN(9))
	for i := 1; i < n; i++ {
		b[i] = byte('0' + g.rng.IntN(10))
	}
	return string(b)
}

func (g *WebhookGen) randomBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.rng.Uint32())
	}
	return b
}

func (g *WebhookGen) hexString(nBytes int) string { return hex.EncodeToString(g.randomBytes(nBytes)) }

func (g *WebhookGen) mediaHash() string { return base64.StdEncoding.EncodeToString(g.randomBytes(32)) }

func (g *WebhookGen) base64URL(nBytes int) string {
	return base64.RawURLEncoding.EncodeToString(g.randomBytes(nBytes))
}

func genUnix(t time.Time) string { return strconv.FormatInt(t.Unix(), 10) }

func genDigits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

func genPick[T any](rng *rand.Rand, xs []T) T { return xs[rng.IntN(len(xs))] }

// genObject writes the members of a JSON object in the order they are
// added. Meta's bodies are built this way rather than with encoding/json,
// whose escaping differs from Meta's and would change the bytes that are
// signed.
type genObject struct {
	b *bytes.Buffer
	n int
}

func writeGenObject(b *bytes.Buffer, fill func(o *genObject)) {
	b.WriteByte('{')
	fill(&genObject{b: b})
	b.WriteByte('}')
}

func (o *genObject) key(k string) {
	if o.n > 0 {
		o.b.WriteByte(',')
	}
	o.n++
	writeMetaString(o.b, k)
	o.b.WriteByte(':')
}

func (o *genObject) str(k, v string) {
	o.key(k)
	writeMetaString(o.b, v)
}

// literal writes v (a number or boolean) unquoted.
func (o *genObject) literal(k, v string) {
	o.key(k)
	o.b.WriteString(v)
}

func (o *genObject) object(k string, fill func(o *genObject)) {
	o.key(k)
	writeGenObject(o.b, fill)
}

func (o *genObject) array(k string, fill func(a *genArray)) {
	o.key(k)
	o.b.WriteByte('[')
	fill(&genArray{b: o.b})
	o.b.WriteByte(']')
}

// genArray writes the elements of a JSON array.
type genArray struct {
	b *bytes.Buffer
	n int
}

func (a *genArray) object(fill func(o *genObject)) {
	if a.n > 0 {
		a.b.WriteByte(',')
	}
	a.n++
	writeGenObject(a.b, fill)
}

// writeMetaString writes s as a JSON string escaped the way Meta's encoder
// does: every non-ASCII character as \uXXXX (lower-case hex, surrogate pairs
// beyond the BMP) and "/" as "\/". A receiver that re-encodes the JSON gets
// different bytes and a signature that no longer matches, which is the
// point of simulating it.
func writeMetaString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	u := func(r rune) {
		b.WriteString(`\u`)
		b.WriteByte(hexDigits[r>>12&0xf])
		b.WriteByte(hexDigits[r>>8&0xf])
		b.WriteByte(hexDigits[r>>4&0xf])
		b.WriteByte(hexDigits[r&0xf])
	}
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '/':
			b.WriteString(`\/`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20:
			u(r)
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
		case r > 0xffff:
			hi, lo := utf16.EncodeRune(r)
			u(hi)
			u(lo)
		default:
			u(r)
		}
	}
	b.WriteByte('"')
}

// genNumberPlan describes mobile wa_ids of one country: the country code, one
// of the leading digits of mobile numbers there, the digits the rest may
// start with, and the total length.
type genNumberPlan struct {
	prefix string
	next   []string
	first  string
	length int
}

var genNumberPlans = []genNumberPlan{
	{"1", []string{"201", "212", "213", "305", "312", "415", "469", "503", "617", "646", "650", "702", "713", "718", "786", "818", "917"}, "23456789", 11},
	{"55", []string{"119", "219", "319", "419", "519", "619", "719", "819"}, "6789", 13},
	{"91", []string{"6", "7", "8", "9"}, "0123456789", 12},
	{"52", []string{"55", "33", "81"}, "123456789", 12},
	{"62", []string{"812", "813", "857", "878"}, "123456789", 13},
	{"44", []string{"74", "75", "78"}, "0123456789", 12},
	{"49", []string{"151", "152", "157", "160", "170", "176"}, "123456789", 13},
	{"234", []string{"803", "806", "813", "816", "903"}, "123456789", 13},
	{"34", []string{"6"}, "0123456789", 11},
	{"20", []string{"10", "11", "12"}, "0123456789", 12},
}

var genProfileNames = []string{
	"Sheena Nelson", "Chris O'Brien", "Zoë Walker", "Priya Sharma", "राहुल वर्मा", "João Pedro",
	"Ana Luíza Souza", "José Hernández", "Jürgen Müller", "Dewi Lestari", "Chiamaka Okafor",
	"Мария Иванова", "محمد العلي", "田中 健二", "김민준", "Mom ❤️", "Lucía 🌸", "Ahmed", "Fatma Yılmaz",
	"Nguyễn Văn An", "Oluwaseun", "Carlos 🇲🇽", "Emma", "Tobi ⚽", "Aisha Bello", "François Dupont",
}

var genSentences = []string{
	"Hi", "Hello!", "ok", "Thanks 🙏", "Yes", "No, thanks", "👍",
	"Is the order shipped yet?",
	"Does it come in another color?",
	"Can I change the delivery address to my office? It's the same street, number 42.",
	"I paid yesterday but I still have no confirmation email. Can you check please?",
	"What time do you open on Saturday?",
	"The package arrived damaged, the box was completely crushed and one of the glasses is broken.",
	"Olá, gostaria de saber o preço do plano anual.",
	"Vocês entregam em São Paulo no mesmo dia?",
	"¿Tienen disponible la talla M en azul?",
	"Mañana paso a recogerlo, ¿hasta qué hora están?",
	"Hallo, ich habe meine Bestellung noch nicht erhalten. Können Sie mir die Sendungsnummer schicken?",
	"Bonjour, est-ce que je peux payer à la livraison ?",
	"क्या आप कल डिलीवरी कर सकते हैं?",
	"मुझे अपना ऑर्डर रद्द करना है",
	"مرحبا، هل المنتج متوفر؟",
	"Здравствуйте! Когда будет доставка?",
	"注文した商品はいつ届きますか？",
	"배송 언제 되나요?",
	"Sawa, asante sana",
	"Apakah bisa bayar pakai transfer bank?",
	"Please call me back when you can, I'm available after 5pm (my time).",
	"My account number is 4471-2290 and the invoice says 129,90 but I was charged 139,90 — why?",
	"Here is the link they sent me: https://example.com/track?id=ZX81&lang=en",
	"Thank you so much for the help today, you guys are amazing!!!",
	"I'd like to book a table for 4 people tonight at 8 — is that possible?",
	"Where can I find the \"terms & conditions\"? The page says <error 404>.",
	"Tab\tseparated\tvalues\tare\tfun",
}

var genTextEmoji = []string{"😀", "😂", "🙏", "👍", "❤️", "🎉", "😢", "🔥", "✅", "🤔", "😍", "👋🏽", "🇧🇷", "👨‍👩‍👧", "☺️"}

var genReactionEmoji = []string{"👍", "❤️", "😂", "😮", "😢", "🙏", "🔥", "👏🏾"}

type genFile struct{ name, mime string }

var genDocuments = []genFile{
	{"invoice_2024-1187.pdf", "application/pdf"},
	{"Comprovante PIX.pdf", "application/pdf"},
	{"pasaporte escaneado.jpg", "image/jpeg"},
	{"order list (final).xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
	{"Lebenslauf_Müller.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
	{"notes.txt", "text/plain"},
}

type genPlace struct {
	name, address, url string
	lat, lon           float64
}

var genPlaces = []genPlace{
	{"Meta Headquarters", "1 Hacker Way, Menlo Park, CA 94025", "https://www.facebook.com/MetaHQ", 37.4847483, -122.1473728},
	{"Avenida Paulista", "Av. Paulista, 1578 - Bela Vista, São Paulo - SP, 01310-200", "https://maps.google.com/?cid=1234567", -23.5613496, -46.6558819},
	{"Gateway of India", "Apollo Bandar, Colaba, Mumbai, Maharashtra 400001", "https://g.co/kgs/mumbai", 18.9219841, 72.8346543},
	{"Zócalo", "Plaza de la Constitución S/N, Centro, Ciudad de México", "https://goo.gl/maps/zocalo", 19.4326018, -99.1332049},
	{"Brandenburger Tor", "Pariser Platz, 10117 Berlin", "https://www.berlin.de/", 52.5162746, 13.3777041},
	{"Lekki Conservation Centre", "Lekki Penninsula II, Lekki, Lagos", "https://ncfnigeria.org/", 6.4412, 3.5367},
}

type genButton struct{ id, title string }

var genReplyButtons = []genButton{
	{"confirm_yes", "Yes, confirm"}, {"confirm_no", "No, cancel"}, {"talk_agent", "Talk to an agent"},
	{"track_order", "Track my order 📦"}, {"reschedule", "Reagendar"}, {"opt_1", "Opción 1"},
}

var genTemplateButtons = []genButton{
	{"STOP_PROMOTIONS", "Stop promotions"}, {"CONFIRM_APPOINTMENT", "Confirm"},
	{"RESCHEDULE", "Reschedule"}, {"Sim, quero!", "Sim, quero!"}, {"More info", "More info"},
}

type genAd struct{ headline, body, welcome string }

var genAds = []genAd{
	{"Summer sale: up to 50% off", "Chat with us on WhatsApp to get your coupon before Sunday! ☀️", "Hi! Thanks for your interest. What can we help you with?"},
	{"Aulas de inglês online", "Fale com a gente e ganhe a primeira aula grátis.", "Olá! Qual horário é melhor para você?"},
	{"Free delivery in Lagos", "Order today and we deliver tomorrow. Tap to chat.", "Welcome! Send us your address to check delivery."},
}

type genPricing struct {
	name, typ string
	billable  bool
}

var genPricingCategories = []genPricing{
	{"service", "free_customer_service", false},
	{"service", "free_customer_service", false},
	{"utility", "regular", true},
	{"marketing", "regular", true},
	{"utility", "free_customer_service", false},
}

type genError struct {
	code           int
	title, details string
}

var genStatusErrors = []genError{
	{131026, "Message undeliverable", "Message Undeliverable."},
	{131047, "Re-engagement message", "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
	{131049, "This message was not delivered to maintain healthy ecosystem engagement.", "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."},
	{131050, "Unable to deliver the message. This recipient has chosen to stop receiving marketing messages on WhatsApp from your business.", "The user has stopped marketing messages."},
	{131053, "Media upload error", "Downloading media from weblink failed with http code 403, status message Forbidden"},
	{130472, "User's number is part of an experiment", "Failed to send message because this user's phone number is part of an experiment"},
}
