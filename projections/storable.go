package projections

import (
	"encoding/json"
	"fmt"

	"github.com/wam-project/wam/domain"
)

// Meta's input is never refused: a webhook holding values PostgreSQL cannot
// store (NUL characters, bytes that are not UTF-8; in jsonb also \u0000,
// unpaired surrogate escapes, numbers beyond numeric, very deep nesting) is
// made storable, and its messages reach the inbox, with U+FFFD where the
// text could not be kept. The raw event in the stream keeps what Meta sent,
// so a rebuild under better rules can read it again.
//
// Prepare does it per event, before the batch is merged. The merge drops
// some values (a later profile name replaces an earlier one, a redelivered
// message's content is dropped), so a value left to the database could
// fail a batch or not depending on where batches were cut.

// makeStorable makes every value of w that the inbox writes storable, in
// place: text (ids, names, previews, problems, template fields, error
// texts…) valid UTF-8 without NUL, jsonb (content, referral, referred
// product) what domain.StorableJSON makes of it. It returns a problem for
// each jsonb value that lost values nested too deep. A webhook with nothing
// to fix, the common case, costs no allocation.
func makeStorable(w *domain.Webhook) []string {
	var problems []string
	storableTexts(&w.Object)
	for i := range w.Problems {
		storableTexts(&w.Problems[i])
	}
	for i := range w.Changes {
		ch := &w.Changes[i]
		storableTexts(&ch.WABAID, &ch.Field, &ch.PhoneNumberID, &ch.DisplayPhoneNumber)
		for j := range ch.Contacts {
			c := &ch.Contacts[j]
			storableTexts(&c.WaID, &c.UserID, &c.ParentUserID, &c.Phone, &c.ProfileName, &c.Username)
		}
		for j := range ch.Messages {
			m := &ch.Messages[j]
			typ := string(m.Type)
			storableTexts(&m.WAMID, &m.From, &m.FromUserID, &m.FromPhone, &typ, &m.TargetWAMID, &m.Preview)
			m.Type = domain.MessageType(typ)
			storableJSON(&m.Content, &problems, m.WAMID, "content")
			storableJSON(&m.Referral, &problems, m.WAMID, "referral")
			if c := m.Context; c != nil {
				storableTexts(&c.From, &c.ID)
				storableJSON(&c.ReferredProduct, &problems, m.WAMID, "context.referred_product")
			}
			storableErrors(m.Errors)
		}
		for j := range ch.Statuses {
			s := &ch.Statuses[j]
			kind := string(s.Status)
			storableTexts(&s.WAMID, &kind, &s.RecipientID, &s.RecipientPhone, &s.RecipientUserID, &s.RecipientType, &s.BizOpaqueCallbackData)
			s.Status = domain.StatusKind(kind)
			if c := s.Conversation; c != nil {
				storableTexts(&c.ID, &c.OriginType)
			}
			if p := s.Pricing; p != nil {
				storableTexts(&p.PricingModel, &p.Category, &p.Type)
			}
			storableErrors(s.Errors)
		}
		storableErrors(ch.Errors)
		if t := ch.TemplateStatus; t != nil {
			storableTexts(&t.TemplateID, &t.TemplateName, &t.TemplateLanguage, &t.Event, &t.Reason, &t.Category)
		}
	}
	return problems
}

// storableTexts makes each text storable.
func storableTexts(texts ...*string) {
	for _, s := range texts {
		*s = domain.StorableText(*s)
	}
}

func storableErrors(errs []domain.MetaError) {
	for i := range errs {
		e := &errs[i]
		storableTexts(&e.Title, &e.Message, &e.Details, &e.Href)
	}
}

// storableJSON makes the jsonb value *raw of message wamid storable, and
// adds a problem to problems when values nested too deep were cut from it.
func storableJSON(raw *json.RawMessage, problems *[]string, wamid, name string) {
	out, cut := domain.StorableJSON(*raw)
	*raw = out
	if cut {
		*problems = append(*problems, fmt.Sprintf("message %s %s: values nested deeper than %d levels stored as null", wamid, name, domain.MaxNesting))
	}
}

// storableConversationEvent makes the texts of a conversation event
// storable. The API refuses such text, but events stored before it did
// must apply rather than park.
func storableConversationEvent(ev *domain.ConversationEvent) {
	storableTexts(&ev.Status, &ev.Body)
	for i := range ev.Tags {
		storableTexts(&ev.Tags[i])
	}
}
