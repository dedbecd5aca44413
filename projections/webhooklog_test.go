package projections

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wam-project/wam/streams"
)

// TestWebhookLogNamesWamidsAndNumbers: the log keeps, for the history's
// filters, the wamids a webhook carries and the E.164 numbers of whom it
// names (a Mexican wa_id in today's form), routed or not; a wamid too long
// to index is left out of the index, not a reason to park the webhook.
func TestWebhookLogNamesWamidsAndNumbers(t *testing.T) {
	t.Parallel()
	e := mustEnv(t)
	r := e.start(t, Options{})
	var sb strings.Builder
	for sb.Len() < 3000 { // random, so that PostgreSQL cannot compress it below the index's limit
		sb.WriteString(uuid.NewString())
	}
	for _, c := range []struct {
		name, tenant string
		body         []byte
		wamids       []string
		phones       []string
	}{
		{"a message", uuid.NewString(), textWebhook("wamid.M", "5215512345678", "Mar", "hola", 1739321000),
			[]string{"wamid.M"}, []string{"+525512345678"}},
		{"a status", uuid.NewString(), statusWebhook("wamid.S", "read", 1739321000, "16505551234", 0, ""),
			[]string{"wamid.S"}, []string{"+16505551234"}},
		{"unrouted", streams.Unrouted, textWebhook("wamid.U", "16505551234", "", "hi", 1739321000),
			[]string{"wamid.U"}, []string{"+16505551234"}},
		{"unrouted, a wamid too long to index", streams.Unrouted, textWebhook("wamid."+sb.String(), "16505551234", "", "hi", 1739321000),
			nil, []string{"+16505551234"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			seq := e.publish(t, c.tenant, c.body)
			mustWait(t, r, seq)
			var wamids, phones []string
			if err := e.pool.QueryRow(context.Background(), `SELECT wamids, contact_phones FROM webhook_log WHERE seq = $1`,
				int64(seq)).Scan(&wamids, &phones); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(wamids, c.wamids) || !slices.Equal(phones, c.phones) {
				t.Errorf("wamids %v, contact phones %v; want %v, %v", wamids, phones, c.wamids, c.phones)
			}
			if n := e.count(t, `SELECT count(*) FROM parked_events WHERE seq = $1`, int64(seq)); n != 0 {
				t.Errorf("parked")
			}
		})
	}
}
