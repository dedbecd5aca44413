package ops

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/streams"
)

// seqsOf lists the sequences of the webhooks f selects for by, every page.
func seqsOf(t *testing.T, s *Service, by Actor, f Filter) []uint64 {
	t.Helper()
	var seqs []uint64
	var before uint64
	for {
		page, err := s.ListWebhooks(context.Background(), by, f, before, 2)
		if err != nil {
			t.Fatalf("list %+v: %v", f, err)
		}
		for _, w := range page.Webhooks {
			seqs = append(seqs, w.Seq)
		}
		if page.Next == 0 {
			slices.Sort(seqs)
			return seqs
		}
		before = page.Next
	}
}

// TestHistoryByWamidAndContactPhone: the history filtered by a message's
// wamid is the webhooks carrying the message or its statuses, by a
// person's number (any spelling of it) the webhooks naming them, within
// the tenant asking; a replay of the same filter counts and takes the
// same webhooks; a number that is none is refused naming the field.
func TestHistoryByWamidAndContactPhone(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	ctx := context.Background()
	s := e.service(Options{Rate: 1e6, Batch: 2})
	a, b := e.tenant(t), e.tenant(t)
	const ada, bob = "4915111111111", "4915122222222"
	pub := func(tenant string, body []byte) uint64 { return e.publish(t, tenant, body) }

	adaIn := pub(a.String(), textHook("wamid.A1", ada, "Ada", "hello", 1700000000))
	bobIn := pub(a.String(), textHook("wamid.B1", bob, "Bob", "hi", 1700000010))
	adaSent := pub(a.String(), statusHook("wamid.OUT1", "sent", ada, 1700000020))
	bobSent := pub(a.String(), statusHook("wamid.OUT2", "sent", bob, 1700000025))
	adaRead := pub(a.String(), statusHook("wamid.OUT1", "read", ada, 1700000030))
	// Another tenant hears from the same person, and (as no real webhook
	// would) names the same wamid: neither is tenant a's.
	theirs := pub(b.String(), textHook("wamid.OUT1", ada, "Ada", "elsewhere", 1700000040))
	unrouted := pub(streams.Unrouted, textHook("wamid.U1", ada, "Ada", "nobody's", 1700000050))
	// A Mexican mobile number as WhatsApp still reports it (521…), found
	// by its number today (+52 and ten digits).
	mexico := pub(a.String(), textHook("wamid.M1", "5215512345678", "Mar", "hola", 1700000060))
	wait(t, e.inbox, mexico)

	owner := Actor{TenantID: a, Role: "owner"}
	for _, c := range []struct {
		name string
		by   Actor
		f    Filter
		want []uint64
	}{
		{"a message and its statuses by wamid", owner, Filter{WAMID: "wamid.OUT1"}, []uint64{adaSent, adaRead}},
		{"an inbound message by wamid", owner, Filter{WAMID: "wamid.B1"}, []uint64{bobIn}},
		{"a contact by E.164", owner, Filter{ContactPhone: "+49 151 11111111"}, []uint64{adaIn, adaSent, adaRead}},
		{"a contact by wa_id", owner, Filter{ContactPhone: bob}, []uint64{bobIn, bobSent}},
		{"a contact and a kind", owner, Filter{ContactPhone: ada, Kind: "statuses"}, []uint64{adaSent, adaRead}},
		{"a contact and a wamid", owner, Filter{ContactPhone: bob, WAMID: "wamid.OUT1"}, nil},
		{"the old Mexican spelling by today's number", owner, Filter{ContactPhone: "+52 55 1234 5678"}, []uint64{mexico}},
		{"the other tenant's owner by wamid", Actor{TenantID: b, Role: "owner"}, Filter{WAMID: "wamid.OUT1"}, []uint64{theirs}},
		{"an operator, every tenant and the unrouted", cli, Filter{ContactPhone: ada}, []uint64{adaIn, adaSent, adaRead, theirs, unrouted}},
		{"an operator, one tenant", cli, Filter{ContactPhone: ada, Tenant: &b}, []uint64{theirs}},
		{"an operator, the unrouted", cli, Filter{ContactPhone: ada, Unrouted: true}, []uint64{unrouted}},
		{"a wamid nobody sent", cli, Filter{WAMID: "wamid.NONE"}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := seqsOf(t, s, c.by, c.f); !slices.Equal(got, c.want) {
				t.Fatalf("webhooks %v, want %v", got, c.want)
			}
			dry, err := s.RequestReplay(ctx, c.by, ReplayRequest{Mode: ModeReproject, Filter: c.f, DryRun: true})
			if err != nil || dry.Matched != int64(len(c.want)) {
				t.Fatalf("dry run matched %d (%v), want %d", dry.Matched, err, len(c.want))
			}
		})
	}

	// Each item counts the messages and statuses its webhook carries.
	page, err := s.ListWebhooks(ctx, owner, Filter{ContactPhone: ada}, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[uint64][2]int{}
	for _, w := range page.Webhooks {
		counts[w.Seq] = [2]int{w.Messages, w.Statuses}
	}
	if want := map[uint64][2]int{adaIn: {1, 0}, adaSent: {0, 1}, adaRead: {0, 1}}; !maps.Equal(counts, want) {
		t.Errorf("counts by seq %v, want %v", counts, want)
	}

	// A job of the filter takes what the dry run counted, and keeps the
	// number as normalised in its selection.
	job, err := s.RequestReplay(ctx, owner, ReplayRequest{Mode: ModeReproject, Filter: Filter{ContactPhone: "+49 (151) 1111-1111"}})
	if err != nil || job.Matched != 3 || job.Selection.ContactPhone != "+"+ada {
		t.Fatalf("job %+v, %v", job, err)
	}
	eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
	if got := runJob(t, e, s, job); got.State != StateFinished || got.Done != 3 || got.Cursor != adaRead {
		t.Fatalf("job ended %+v", got)
	}

	for _, c := range []struct {
		f     Filter
		field string
	}{
		{Filter{ContactPhone: "not a number"}, "contact_phone"},
		{Filter{ContactPhone: "0151 1111111"}, "contact_phone"}, // no country code
		{Filter{WAMID: "wamid with spaces"}, "wamid"},
	} {
		_, err := s.ListWebhooks(ctx, owner, c.f, 0, 10)
		if !invalidField(err, c.field) {
			t.Errorf("list %+v: %v, want invalid %s", c.f, err, c.field)
		}
		_, err = s.RequestReplay(ctx, owner, ReplayRequest{Mode: ModeReproject, Filter: c.f, DryRun: true})
		if !invalidField(err, c.field) {
			t.Errorf("replay %+v: %v, want invalid %s", c.f, err, c.field)
		}
	}
}

// invalidField reports whether err is an invalid input of field.
func invalidField(err error, field string) bool {
	var de *domain.Error
	return errors.As(err, &de) && de.Code == domain.ErrInvalid && strings.HasPrefix(de.Message, field+":")
}

// TestReprojectFillsWamidsAndNumbers: webhooks logged before the log kept
// wamids and numbers (migration 00032) are found by them once re-projected.
func TestReprojectFillsWamidsAndNumbers(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	ctx := context.Background()
	s := e.service(Options{Rate: 1e6})
	tenant := uuid.NewString()
	last := history(t, e, tenant)
	wait(t, e.inbox, last)
	byAda := Filter{ContactPhone: "4915111111111"}
	found := seqsOf(t, s, cli, byAda)
	if len(found) != 6 { // three messages of hers (one delivered twice), three statuses to her
		t.Fatalf("Ada's webhooks: %v", found)
	}
	before := checksums(t, e.pool)
	if _, err := e.pool.Exec(ctx, `UPDATE webhook_log SET wamids = '{}', contact_phones = '{}'`); err != nil {
		t.Fatal(err)
	}
	if got := seqsOf(t, s, cli, byAda); len(got) != 0 {
		t.Fatalf("with the columns emptied: %v", got)
	}
	job, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeReproject})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
	if got := runJob(t, e, s, job); got.State != StateFinished {
		t.Fatalf("job ended %+v", got)
	}
	if got := seqsOf(t, s, cli, byAda); !slices.Equal(got, found) {
		t.Fatalf("after the replay: %v, want %v", got, found)
	}
	if diff := diffSums(before, checksums(t, e.pool)); len(diff) != 0 {
		t.Fatalf("tables changed by the replay: %v", diff)
	}
}
