package streams

import (
	"regexp"
	"strings"
)

// Subjects of the WAM stream: wam.<tenant>.<category>.<type>.
const (
	// Unrouted is the tenant token for webhooks whose phone number no tenant owns.
	Unrouted = "_unrouted"
	// TypeWebhookMeta is the event type of a raw webhook from Meta.
	TypeWebhookMeta = "webhook.meta"
)

// Categories are the event categories the stream keeps, as
// wam.<tenant>.<category>.<type>. Live notifications (wam.<tenant>.live.…)
// are core NATS messages and deliberately outside the stream.
var Categories = []string{"webhook", "message", "conversation", "contact", "template", "tenant", "media", "replay"}

// StreamSubjects are the subject filters of the WAM stream.
func StreamSubjects() []string {
	s := make([]string, len(Categories))
	for i, c := range Categories {
		s[i] = "wam.*." + c + ".>"
	}
	return s
}

// LiveSubject is the core-NATS subject on which changes of kind to tenant's
// read models are announced after they commit.
func LiveSubject(tenant, kind string) string { return "wam." + tenant + ".live." + kind }

var tenantToken = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ValidTenantToken reports whether s can stand as the tenant token of a
// subject: no dots, wildcards or spaces.
func ValidTenantToken(s string) bool { return tenantToken.MatchString(s) }

// Subject is the subject of an event of type typ (such as "webhook.meta") for tenant.
func Subject(tenant, typ string) string { return "wam." + tenant + "." + typ }

// WebhookSubject is where the raw webhooks of tenant are kept.
func WebhookSubject(tenant string) string { return Subject(tenant, TypeWebhookMeta) }

// ParseSubject splits a stream subject into tenant and event type; ok is false
// for subjects outside the wam.<tenant>.<category>.<type> shape.
func ParseSubject(subject string) (tenant, typ string, ok bool) {
	rest, found := strings.CutPrefix(subject, "wam.")
	if !found {
		return "", "", false
	}
	tenant, typ, found = strings.Cut(rest, ".")
	if !found || tenant == "" || typ == "" {
		return "", "", false
	}
	return tenant, typ, true
}
