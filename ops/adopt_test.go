package ops

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/ingest"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Webhooks for a number no tenant had, then the number connected: an
// operator's adopt_unrouted replay moves them into the tenant's inbox,
// exactly once and with their original times, and they leave the unrouted
// list. (The adopter also does this by itself when the API connects a
// number: ingest's TestAdoptNumberConnectedLater.)
func TestAdoptUnroutedOnDemand(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	ctx := context.Background()
	q := db.New(e.pool)
	keys, err := auth.ParseKeyRing(base64.StdEncoding.EncodeToString(make([]byte, 32)))
	if err != nil {
		t.Fatal(err)
	}
	adopter := ingest.NewAdopter(q, e.js, e.pub, ingest.NewRouter(q, ingest.RouterOptions{}), ingest.NewSecrets(q, keys, ingest.RouterOptions{}),
		nil, ingest.AdopterOptions{Checkpoint: e.inbox.Checkpoint})
	s := e.service(Options{Adopter: adopter})

	// Received an hour ago, before anyone connected the number.
	then := time.Now().Add(-time.Hour).UTC().Truncate(time.Microsecond)
	var last uint64
	for i, b := range [][]byte{
		textHook("wamid.U1", "4915111111111", "Ada", "before you came", 1700000000),
		textHook("wamid.U2", "4915111111111", "Ada", "still here?", 1700000100),
	} {
		last, err = e.pub.Publish(ctx, streams.Event{Tenant: streams.Unrouted, Type: streams.TypeWebhookMeta, MsgID: uuid.NewString(),
			OccurredAt: then.Add(time.Duration(i) * time.Second), Data: b})
		if err != nil {
			t.Fatal(err)
		}
	}
	wait(t, e.inbox, last)
	if dry, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeAdoptUnrouted, DryRun: true}); err != nil || dry.Matched != 0 {
		t.Fatalf("nothing is adoptable before the number is connected: %+v %v", dry, err)
	}

	tenant := e.tenant(t)
	if _, err := q.ConnectNumber(ctx, db.ConnectNumberParams{ID: uuid.New(), TenantID: tenant, PhoneNumberID: testPNID,
		DisplayPhoneNumber: "+15550783881", WabaID: "102290129340398", MessagesPerSecond: 80}); err != nil {
		t.Fatal(err)
	}
	job, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeAdoptUnrouted})
	if err != nil || job.Matched != 2 {
		t.Fatalf("job %+v, %v; want 2 matched", job, err)
	}
	eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
	if got := runJob(t, e, s, job); got.State != StateFinished || got.Done != 2 {
		t.Fatalf("job ended as %+v", got)
	}
	// Once the inbox has applied the copies, nothing more is adoptable.
	eventually(t, "nothing adoptable after adoption", func() bool {
		dry, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeAdoptUnrouted, DryRun: true})
		return err == nil && dry.Matched == 0
	})

	type row struct {
		wamid    string
		received time.Time
		n        int
	}
	var rows []row
	eventually(t, "both messages in the tenant's inbox", func() bool {
		r, err := e.pool.Query(ctx, `SELECT wamid, min(created_at), count(*) FROM messages WHERE tenant_id = $1 GROUP BY wamid ORDER BY wamid`, tenant)
		if err != nil {
			t.Fatal(err)
		}
		rows = rows[:0]
		for r.Next() {
			var x row
			if err := r.Scan(&x.wamid, &x.received, &x.n); err != nil {
				t.Fatal(err)
			}
			rows = append(rows, x)
		}
		return len(rows) == 2
	})
	for i, r := range rows {
		if r.n != 1 || !r.received.Equal(then.Add(time.Duration(i)*time.Second)) {
			t.Errorf("%s: %d rows, received %s, want once at %s", r.wamid, r.n, r.received, then.Add(time.Duration(i)*time.Second))
		}
	}
	// The unrouted list no longer holds them: each is marked adopted by
	// its copy in the tenant's history.
	page, err := s.ListWebhooks(ctx, cli, Filter{Unrouted: true}, 0, 50)
	if err == nil && len(page.Webhooks) != 2 {
		t.Fatalf("%d unrouted webhooks, want the 2 originals", len(page.Webhooks))
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range page.Webhooks {
		if w.AdoptedBy == 0 {
			t.Errorf("unrouted webhook %d not adopted", w.Seq)
		}
	}
	mine, err := s.ListWebhooks(ctx, Actor{TenantID: tenant, Role: "owner"}, Filter{}, 0, 50)
	if err != nil || len(mine.Webhooks) != 2 || mine.Webhooks[0].AdoptedFrom == 0 {
		t.Fatalf("tenant's history %+v, %v", mine, err)
	}
	// An operator's re-projection of all history takes each webhook once:
	// the copies, not the originals they were adopted from.
	for _, by := range []Actor{cli, {TenantID: tenant, Role: "owner"}} {
		dry, err := s.RequestReplay(ctx, by, ReplayRequest{Mode: ModeReproject, Filter: Filter{Kind: "messages"}, DryRun: true})
		if err != nil || dry.Matched != 2 {
			t.Errorf("%v: re-projection dry run %+v, %v; want the 2 copies", by, dry, err)
		}
	}
}
