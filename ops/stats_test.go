package ops

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
)

// TestStatsPendingPerNumberAndRunnerStates: the stats count the sends each
// number has waiting for the sender (requested, no outcome yet) as the
// read model has them, show the held numbers among them even when nothing
// waits, and say what each projector's runner does in this process.
func TestStatsPendingPerNumberAndRunnerStates(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	ctx := context.Background()
	q := db.New(e.pool)
	a, b := e.tenant(t), e.tenant(t)
	sealed := []byte("sealed token")
	for _, n := range []struct {
		tenant uuid.UUID
		id     string
	}{{a, "111"}, {a, "112"}, {a, "113"}, {b, "221"}} {
		if _, err := q.ConnectNumber(ctx, db.ConnectNumberParams{ID: uuid.New(), TenantID: n.tenant, PhoneNumberID: n.id,
			DisplayPhoneNumber: "+1555000" + n.id, MessagesPerSecond: 80, AccessTokenEnc: sealed}); err != nil {
			t.Fatal(err)
		}
	}
	// Meta refused the tokens of 112 (two sends wait) and 113 (none do).
	now := time.Now()
	for _, id := range []string{"112", "113"} {
		if err := q.InvalidateToken(ctx, db.InvalidateTokenParams{Error: "expired", At: &now, PhoneNumberID: id, AccessTokenEnc: sealed}); err != nil {
			t.Fatal(err)
		}
	}
	send := func(tenant uuid.UUID, pnid, to string) (uuid.UUID, uint64) {
		id := uuid.New()
		body, _ := json.Marshal(domain.SendRequested{MessageID: id, PhoneNumberID: pnid, To: to, ToPhone: "+" + to,
			Message: domain.Outbound{Type: domain.TypeText, Text: &domain.OutText{Body: "hi"}}, At: time.Now().UTC()})
		return id, e.publishEvent(t, tenant.String(), domain.EventSendRequested, body)
	}
	accepted, _ := send(a, "111", "4915111111111")
	for range 2 {
		send(a, "111", "4915122222222")
		send(a, "112", "4915133333333")
	}
	_, last := send(b, "221", "4915111111111")
	wait(t, e.inbox, last)

	s := e.service(Options{Projectors: []Reprojector{e.inbox, e.jobs}})
	st, err := s.Stats(ctx, cli)
	if err != nil {
		t.Fatal(err)
	}
	want := []NumberPending{
		{TenantID: a, PhoneNumberID: "111", Pending: 3},
		{TenantID: a, PhoneNumberID: "112", Pending: 2, Held: true},
		{TenantID: b, PhoneNumberID: "221", Pending: 1},
		{TenantID: a, PhoneNumberID: "113", Pending: 0, Held: true},
	}
	checkPending(t, st.Sender, 6, want)
	if st.Sender.HeldNumbers != 2 || st.Sender.InProcess {
		t.Errorf("held %d, in process %v", st.Sender.HeldNumbers, st.Sender.InProcess)
	}

	// Meta's acceptance settles one of 111's.
	out, _ := json.Marshal(domain.SendOutcome{MessageID: accepted, ConversationID: domain.ConversationID(a.String(), "4915111111111", "111"),
		WAMID: "wamid.ACC", At: time.Now().UTC()})
	wait(t, e.inbox, e.publishEvent(t, a.String(), domain.EventAccepted, out))
	if st, err = s.Stats(ctx, cli); err != nil {
		t.Fatal(err)
	}
	want[0].Pending = 2
	checkPending(t, st.Sender, 5, []NumberPending{want[1], want[0], want[2], want[3]}) // held first among equals

	states := map[string]string{}
	for _, p := range st.Projectors {
		states[p.Name] = p.State
		if p.State == string(projections.RunnerRunning) && p.StateSince.IsZero() {
			t.Errorf("%s running since when?", p.Name)
		}
	}
	if states[projections.InboxName] != "running" || states[JobsProjector] != "running" {
		t.Errorf("states %v, want both running", states)
	}
	// The replay jobs' projector reads none of these events: it is not
	// behind, however many lie past its checkpoint; the inbox caught up.
	for _, p := range st.Projectors {
		if p.LagEvents != 0 || p.LagSeconds != 0 {
			t.Errorf("%s: lag %d events, %v s; want none", p.Name, p.LagEvents, p.LagSeconds)
		}
	}
	// A process that does not run a projector cannot say what it does.
	other := e.service(Options{Projectors: []Reprojector{e.inbox}})
	if st, err = other.Stats(ctx, cli); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Projectors {
		if want := map[bool]string{true: "running", false: StateUnknown}[p.Name == projections.InboxName]; p.State != want || p.InProcess != (p.Name == projections.InboxName) {
			t.Errorf("%s: state %q, in process %v", p.Name, p.State, p.InProcess)
		}
		// nor which subjects it reads: every event past its checkpoint counts.
		if p.Name == JobsProjector && (p.LagEvents == 0 || p.LagSeconds <= 0) {
			t.Errorf("%s run elsewhere: lag %d events, %v s; want the upper bound", p.Name, p.LagEvents, p.LagSeconds)
		}
	}
}

func checkPending(t *testing.T, sd SenderStats, queued int64, want []NumberPending) {
	t.Helper()
	if sd.Queued != queued {
		t.Errorf("queued %d, want %d", sd.Queued, queued)
	}
	if len(sd.ByNumber) != len(want) {
		t.Fatalf("by number %+v, want %+v", sd.ByNumber, want)
	}
	for i, got := range sd.ByNumber {
		w := want[i]
		if got.TenantID != w.TenantID || got.PhoneNumberID != w.PhoneNumberID || got.Pending != w.Pending || got.Held != w.Held ||
			(got.OldestQueuedAt == nil) != (w.Pending == 0) {
			t.Errorf("number %d: %+v, want %+v", i, got, w)
		}
	}
}
