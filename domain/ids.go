package domain

import "github.com/google/uuid"

// Read-model ids are derived from the event data rather than drawn at random,
// so that dropping the read models and replaying the stream yields the same
// ids: links and API clients keep working across a rebuild.
var (
	nsContact      = uuid.MustParse("6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a01")
	nsConversation = uuid.MustParse("6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a02")
	nsMessage      = uuid.MustParse("6f1b7c2e-3f61-4c9e-9a54-2f0c3f8f0a03")
)

// ContactID is the id of the contact known by key (its wa_id, or its
// business-scoped user id when Meta sends no wa_id) within tenant.
func ContactID(tenant, key string) uuid.UUID {
	return uuid.NewSHA1(nsContact, []byte(tenant+"\x00"+key))
}

// ConversationID is the id of the conversation between a contact and one of
// the tenant's phone numbers.
func ConversationID(tenant, contactKey, phoneNumberID string) uuid.UUID {
	return uuid.NewSHA1(nsConversation, []byte(tenant+"\x00"+contactKey+"\x00"+phoneNumberID))
}

// MessageID is the id of the message with Meta's id wamid within tenant.
func MessageID(tenant, wamid string) uuid.UUID {
	return uuid.NewSHA1(nsMessage, []byte(tenant+"\x00"+wamid))
}

// ValidMetaID reports whether s can be one of Meta's object ids (a phone
// number id, a WABA id): 1 to 32 decimal digits.
func ValidMetaID(s string) bool { return len(s) <= 32 && isDigits(s) }
