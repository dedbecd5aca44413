package ops

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
)

var cli = Actor{CLI: true}

// history publishes a tenant's webhooks of every kind the inbox knows,
// with a customer who changes their profile name (an old name must not
// come back on a replay), statuses out of order and a duplicate.
func history(t *testing.T, e *env, tenant string) uint64 {
	t.Helper()
	var last uint64
	for _, b := range [][]byte{
		textHook("wamid.A1", "4915111111111", "Ada", "hello", 1700000000),
		textHook("wamid.B1", "4915122222222", "Bob", "hi there", 1700000010),
		statusHook("wamid.OUT1", "delivered", "4915111111111", 1700000020),
		statusHook("wamid.OUT1", "sent", "4915111111111", 1700000015),
		textHook("wamid.A2", "4915111111111", "Ada Lovelace", "second", 1700000030),
		textHook("wamid.A1", "4915111111111", "Ada", "hello", 1700000000), // Meta delivers again
		statusHook("wamid.OUT1", "read", "4915111111111", 1700000040),
		locationHook("wamid.B2", "4915122222222", "Bob", 1700000050),
		[]byte(`not json at all`),
	} {
		last = e.publish(t, tenant, b)
	}
	return last
}

// runJob runs a requested job to its end in this goroutine, as `wam
// replay` does, and returns it as the jobs' read model has it at the end.
func runJob(t *testing.T, e *env, s *Service, job Job) Job {
	t.Helper()
	ran, err := s.RunJob(context.Background(), job.ID, nil)
	if err != nil || !ran {
		t.Fatalf("run job: ran %v, %v", ran, err)
	}
	var got Job
	eventually(t, "the job's read model shows it ended", func() bool {
		got, err = s.GetReplay(context.Background(), cli, job.ID)
		return err == nil && got.State != StateRequested && got.State != StateRunning
	})
	return got
}

func TestReprojectLeavesReadModelsAsTheyWere(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	tenant := uuid.NewString()
	last := history(t, e, tenant)
	wait(t, e.inbox, last)
	before := checksums(t, e.pool)
	s := e.service(Options{Rate: 1e6, Batch: 3})
	ctx := context.Background()

	for _, r := range []struct {
		name     string
		from, to uint64
	}{{"everything", 0, 0}, {"the middle", 3, 6}, {"one event", 5, 5}, {"the last", last, last}} {
		t.Run(r.name, func(t *testing.T) {
			dry, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeReproject, Filter: Filter{FromSeq: r.from, ToSeq: r.to}, DryRun: true})
			if err != nil {
				t.Fatal(err)
			}
			job, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeReproject, Filter: Filter{FromSeq: r.from, ToSeq: r.to}})
			if err != nil {
				t.Fatal(err)
			}
			if dry.ID != uuid.Nil || dry.Matched != job.Matched || job.Matched == 0 {
				t.Fatalf("dry run %+v, job %+v", dry, job)
			}
			eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
			got := runJob(t, e, s, job)
			if got.State != StateFinished || got.Done != job.Matched || got.Matched != job.Matched {
				t.Fatalf("job ended as %+v, want finished with %d done", got, job.Matched)
			}
			if diff := diffSums(before, checksums(t, e.pool)); len(diff) > 0 {
				t.Fatalf("re-projection changed %v", diff)
			}
		})
	}
}

func TestReprojectCorrectsAfterDecoderFix(t *testing.T) {
	// One event per batch, here and in the projection from scratch: the
	// rows of both are then made alike (a batch's rows take their times
	// from the batch), and only the replay can make them differ.
	one := projections.Options{MaxBatch: 1}
	e := mustEnvWith(t, brokenDecoder{}, one)
	tenant := uuid.NewString()
	last := history(t, e, tenant)
	wait(t, e.inbox, last)
	ctx := context.Background()
	var n int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM messages WHERE wamid = 'wamid.B2'`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("the broken decoder stored the location message (%d, %v)", n, err)
	}
	before := checksums(t, e.pool)

	// The fix ships: the inbox's own code, run by the replay.
	fixed := projections.NewInbox(e.pool, e.js, nil, projections.Options{})
	s := e.service(Options{Rate: 1e6, Projectors: []Reprojector{fixed}})
	job, err := s.RequestReplay(ctx, cli, ReplayRequest{Mode: ModeReproject, Filter: Filter{Kind: "messages"}})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, cli, job.ID); return err == nil })
	if got := runJob(t, e, s, job); got.State != StateFinished {
		t.Fatalf("job %+v", got)
	}

	after := checksums(t, e.pool)
	reference := checksums(t, e.projectedWith(t, projections.Inbox{}, one, last))
	// The rows the bug got wrong are now those of a projection with the
	// fixed code from scratch (the webhook log's decode result included);
	// every other read model is as it was.
	corrected := []string{"messages", "conversations", "webhook_log"}
	for table, sum := range after {
		want := before[table]
		if slices.Contains(corrected, table) {
			want = reference[table]
		}
		if sum != want {
			t.Errorf("%s: after the replay %s, want %s (before %s, from scratch %s)", table, sum, want, before[table], reference[table])
		}
	}
	for _, table := range corrected {
		if before[table] == after[table] {
			t.Errorf("%s: not corrected", table)
		}
	}
}

func TestReplayAccessAndValidation(t *testing.T) {
	e := mustEnv(t, projections.Inbox{})
	tenant := e.tenant(t)
	wait(t, e.inbox, history(t, e, tenant.String()))
	s := e.service(Options{})
	ctx := context.Background()
	agent := Actor{TenantID: tenant, UserID: uuid.New(), Role: "agent"}
	owner := Actor{TenantID: tenant, UserID: uuid.New(), Role: "owner"}
	other := e.tenant(t)
	for _, c := range []struct {
		name string
		by   Actor
		r    ReplayRequest
		code string
	}{
		{"an agent cannot replay", agent, ReplayRequest{Mode: ModeReproject}, "forbidden"},
		{"an owner cannot replay another tenant", owner, ReplayRequest{Mode: ModeReproject, Filter: Filter{Tenant: &other}}, "forbidden"},
		{"an owner cannot replay unrouted webhooks", owner, ReplayRequest{Mode: ModeReproject, Filter: Filter{Unrouted: true}}, "forbidden"},
		{"unknown mode", owner, ReplayRequest{Mode: "rewind"}, "invalid"},
		{"redeliver is not built", owner, ReplayRequest{Mode: ModeRedeliver}, "invalid"},
		{"bad result", owner, ReplayRequest{Mode: ModeReproject, Filter: Filter{Result: "maybe"}}, "invalid"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.RequestReplay(ctx, c.by, c.r)
			if code := domain.ErrorCode(err); code != c.code {
				t.Fatalf("error %v (%s), want %s", err, code, c.code)
			}
		})
	}
	// An owner's replay covers the owner's tenant, and is in its audit log.
	job, err := s.RequestReplay(ctx, owner, ReplayRequest{Mode: ModeReproject})
	if err != nil {
		t.Fatal(err)
	}
	if job.TenantID == nil || *job.TenantID != tenant || job.Matched != 9 {
		t.Fatalf("owner's job %+v", job)
	}
	var audited int
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE tenant_id = $1 AND action = 'replay.requested' AND target = $2`,
		tenant, job.ID.String()).Scan(&audited); err != nil || audited != 1 {
		t.Fatalf("audit entries %d, %v", audited, err)
	}
	// Cancelled before it ran, it never runs.
	eventually(t, "the job is recorded", func() bool { _, err := s.GetReplay(ctx, owner, job.ID); return err == nil })
	if _, err := s.CancelReplay(ctx, owner, job.ID); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the job is cancelled", func() bool { j, err := s.GetReplay(ctx, owner, job.ID); return err == nil && j.State == StateCancelled })
	if ran, err := s.RunJob(ctx, job.ID, nil); err != nil || !ran {
		t.Fatal(ran, err)
	}
	if j, _ := s.GetReplay(ctx, owner, job.ID); j.Done != 0 || j.State != StateCancelled {
		t.Fatalf("cancelled job ran: %+v", j)
	}
	// Another tenant's owner does not see it.
	if _, err := s.GetReplay(ctx, Actor{TenantID: other, Role: "owner"}, job.ID); domain.ErrorCode(err) != "not_found" {
		t.Fatalf("another tenant's owner: %v", err)
	}
}
