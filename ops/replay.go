package ops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/domain"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// Replay modes.
const (
	// ModeReproject applies the selected webhooks again through the inbox
	// projector's code: a fixed decoder corrects history.
	ModeReproject = "reproject"
	// ModeAdoptUnrouted moves the unrouted webhooks that name a number
	// owned now into the owner's history (ingest.Adopter), on demand.
	ModeAdoptUnrouted = "adopt_unrouted"
	// ModeRedeliver will send the selected webhooks to a tenant's own
	// endpoints; outbound webhooks are not built yet, so it is refused.
	ModeRedeliver = "redeliver"
)

// Job states.
const (
	StateRequested = "requested"
	StateRunning   = "running"
	StateFinished  = "finished"
	StateFailed    = "failed"
	StateCancelled = "cancelled"
)

// Event types of replay jobs: a job is its events (wam.<tenant>.replay.*,
// wam._ops.replay.* for jobs across tenants), and replay_jobs is their
// read model.
const (
	TypeReplayRequested = "replay.requested"
	TypeReplayProgress  = "replay.progress"
	TypeReplayFinished  = "replay.finished"
	TypeReplayCancelled = "replay.cancelled"
)

// OpsTenant is the tenant token of events of operators' jobs across tenants.
const OpsTenant = "_ops"

// ReplayRequest asks for a replay of the webhooks Filter selects.
type ReplayRequest struct {
	Mode   string
	Filter Filter
	// DryRun answers how many events match, and starts nothing.
	DryRun bool
}

// Selection is what a job replays, fixed when it is requested: the filter,
// and the stream's last sequence then as the upper bound, so that the
// job's count does not grow with live traffic.
type Selection struct {
	From          *time.Time `json:"from,omitempty"`
	To            *time.Time `json:"to,omitempty"`
	TenantID      *uuid.UUID `json:"tenant_id,omitempty"`
	Unrouted      bool       `json:"unrouted,omitempty"`
	PhoneNumberID string     `json:"phone_number_id,omitempty"`
	Kind          string     `json:"kind,omitempty"`
	Result        string     `json:"result,omitempty"`
	WAMID         string     `json:"wamid,omitempty"`
	ContactPhone  string     `json:"contact_phone,omitempty"` // E.164
	FromSeq       uint64     `json:"from_seq,omitempty"`
	ToSeq         uint64     `json:"to_seq,omitempty"`
}

// Job is a replay job as its events made it.
type Job struct {
	ID          uuid.UUID
	TenantID    *uuid.UUID
	Mode        string
	Selection   Selection
	State       string
	Matched     int64
	Done        int64
	Rate        float64 // events per second lately
	Error       string
	RequestedBy string
	RequestedAt time.Time
	StartedAt   *time.Time
	UpdatedAt   time.Time
	FinishedAt  *time.Time
	// Cursor is the last stream sequence done.
	Cursor uint64
}

// ETA is how long the job will take at its rate; 0 when unknown or ended.
func (j Job) ETA() time.Duration {
	if j.State != StateRunning || j.Rate <= 0 || j.Done >= j.Matched {
		return 0
	}
	return time.Duration(float64(j.Matched-j.Done) / j.Rate * float64(time.Second)).Round(time.Second)
}

// jobEvent is the body of every replay.* event.
type jobEvent struct {
	JobID       uuid.UUID  `json:"job_id"`
	TenantID    *uuid.UUID `json:"tenant_id,omitempty"`
	Mode        string     `json:"mode,omitempty"`
	Selection   *Selection `json:"selection,omitempty"`
	RequestedBy string     `json:"requested_by,omitempty"`
	Matched     int64      `json:"matched"`
	Done        int64      `json:"done"`
	Rate        float64    `json:"rate,omitempty"`
	Cursor      uint64     `json:"cursor,omitempty"`
	Error       string     `json:"error,omitempty"`
}

func jobTenant(t *uuid.UUID) string {
	if t == nil {
		return OpsTenant
	}
	return t.String()
}

// RequestReplay validates and authorizes r and, unless it is a dry run,
// publishes replay.requested; the worker (Run, or RunJob from the CLI)
// then runs it. It answers the job as requested (or, for a dry run, a job
// with only Matched).
func (s *Service) RequestReplay(ctx context.Context, by Actor, r ReplayRequest) (Job, error) {
	if err := by.mayManageHistory(); err != nil {
		return Job{}, err
	}
	scope, tenant, err := r.Filter.scope(by)
	if err != nil {
		return Job{}, err
	}
	f := r.Filter
	sel := Selection{From: f.From, To: f.To, PhoneNumberID: f.PhoneNumberID, Kind: f.Kind, Result: f.Result,
		WAMID: f.WAMID, ContactPhone: f.ContactPhone, FromSeq: f.FromSeq, ToSeq: f.ToSeq}
	switch scope {
	case "tenant":
		sel.TenantID = &tenant
	case "unrouted":
		sel.Unrouted = true
	}
	var matched int64
	switch r.Mode {
	case ModeReproject:
		if sel.ToSeq == 0 {
			info, err := s.streamInfo(ctx)
			if err != nil {
				return Job{}, err
			}
			sel.ToSeq = info.State.LastSeq
		}
		matched, err = s.countSelection(ctx, by, sel)
	case ModeAdoptUnrouted:
		if sel != (Selection{TenantID: sel.TenantID, ToSeq: sel.ToSeq}) || sel.ToSeq != 0 {
			return Job{}, domain.Errorf(domain.ErrInvalid, "mode: adopt_unrouted takes every adoptable webhook (of the tenant): no other filter")
		}
		matched, err = s.q.CountAdoptable(ctx, sel.TenantID)
	case ModeRedeliver:
		return Job{}, domain.Errorf(domain.ErrInvalid, "mode: redeliver needs outbound webhooks, which are not built yet")
	default:
		return Job{}, domain.Errorf(domain.ErrInvalid, "mode: one of reproject, adopt_unrouted")
	}
	if err != nil {
		return Job{}, err
	}
	now := s.now().UTC()
	job := Job{ID: uuid.Must(uuid.NewV7()), TenantID: sel.TenantID, Mode: r.Mode, Selection: sel, State: StateRequested,
		Matched: matched, RequestedBy: by.String(), RequestedAt: now, UpdatedAt: now}
	if r.DryRun {
		job.ID, job.State = uuid.Nil, ""
		return job, nil
	}
	ev := jobEvent{JobID: job.ID, TenantID: job.TenantID, Mode: job.Mode, Selection: &sel, RequestedBy: job.RequestedBy, Matched: matched}
	if _, err := s.publishJob(ctx, by, TypeReplayRequested, ev, now); err != nil {
		return Job{}, err
	}
	if err := s.auditReplay(ctx, by, "replay.requested", job.TenantID, job.ID, map[string]any{"mode": r.Mode, "matched": matched, "selection": sel}); err != nil {
		return Job{}, err
	}
	s.Nudge()
	return job, nil
}

// auditReplay records a replay action: an operator's in the operators' log,
// a tenant's user's or key's in the tenant's.
func (s *Service) auditReplay(ctx context.Context, by Actor, action string, tenant *uuid.UUID, job uuid.UUID, detail map[string]any) error {
	if by.Operator() {
		return audit(ctx, s.q, by, action, tenant, job.String(), detail)
	}
	return accounts.Audit(ctx, s.q, accounts.Actor{TenantID: by.TenantID, UserID: by.UserID, APIKeyID: by.APIKeyID, Role: by.Role,
		RequestID: by.RequestID, IP: by.IP}, by.TenantID, action, job.String(), detail)
}

func (s *Service) publishJob(ctx context.Context, by Actor, typ string, ev jobEvent, at time.Time) (uint64, error) {
	body, err := json.Marshal(ev)
	if err != nil {
		return 0, err
	}
	id := ""
	if typ == TypeReplayProgress {
		id = fmt.Sprintf("%s-%s-%d", ev.JobID, typ, ev.Done)
	} else {
		id = ev.JobID.String() + "-" + typ
	}
	return s.pub.Publish(ctx, streams.Event{Tenant: jobTenant(ev.TenantID), Type: typ, OccurredAt: at, RequestID: by.RequestID,
		Actor: by.String(), MsgID: id, Data: body})
}

// countSelection counts the webhooks sel selects.
func (s *Service) countSelection(ctx context.Context, by Actor, sel Selection) (int64, error) {
	p := selectionParams(sel)
	var n int64
	err := s.readFiltered(ctx, by, func(q *db.Queries) (err error) {
		n, err = q.CountWebhookSelection(ctx, db.CountWebhookSelectionParams{FromSeq: p.FromSeq, ToSeq: p.ToSeq, FromTime: p.FromTime,
			ToTime: p.ToTime, Scope: p.Scope, TenantID: p.TenantID, PhoneNumberID: p.PhoneNumberID, Kind: p.Kind, Wamid: p.Wamid,
			ContactPhone: p.ContactPhone, Result: p.Result})
		return err
	})
	return n, err
}

func selectionParams(sel Selection) db.WebhookSelectionPageParams {
	p := db.WebhookSelectionPageParams{FromSeq: int64(sel.FromSeq), ToSeq: int64(sel.ToSeq), FromTime: sel.From, ToTime: sel.To,
		Scope: "all", PhoneNumberID: sel.PhoneNumberID, Kind: sel.Kind, Wamid: sel.WAMID, ContactPhone: sel.ContactPhone, Result: sel.Result}
	switch {
	case sel.TenantID != nil:
		p.Scope, p.TenantID = "tenant", *sel.TenantID
	case sel.Unrouted:
		p.Scope = "unrouted"
	}
	return p
}

// GetReplay is the job id, if by may see it.
func (s *Service) GetReplay(ctx context.Context, by Actor, id uuid.UUID) (Job, error) {
	if err := by.mayManageHistory(); err != nil {
		return Job{}, err
	}
	var row db.ReplayJob
	err := s.read(ctx, by, func(q *db.Queries) (err error) {
		row, err = q.GetReplayJob(ctx, id)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return Job{}, domain.Errorf(domain.ErrNotFound, "no replay job %s", id)
	}
	if err != nil {
		return Job{}, err
	}
	return jobOf(row)
}

// ListReplays are the latest jobs by may see, newest first.
func (s *Service) ListReplays(ctx context.Context, by Actor, limit int) ([]Job, error) {
	if err := by.mayManageHistory(); err != nil {
		return nil, err
	}
	scope := "all"
	if !by.Operator() {
		scope = "tenant"
	}
	var rows []db.ReplayJob
	err := s.read(ctx, by, func(q *db.Queries) (err error) {
		rows, err = q.ListReplayJobs(ctx, db.ListReplayJobsParams{Scope: scope, TenantID: by.TenantID, Lim: int32(limit)})
		return err
	})
	if err != nil {
		return nil, err
	}
	jobs := make([]Job, 0, len(rows))
	for _, r := range rows {
		j, err := jobOf(r)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// CancelReplay publishes replay.cancelled for a job that has not ended; the
// worker stops at its next batch.
func (s *Service) CancelReplay(ctx context.Context, by Actor, id uuid.UUID) (Job, error) {
	j, err := s.GetReplay(ctx, by, id)
	if err != nil {
		return Job{}, err
	}
	if j.State != StateRequested && j.State != StateRunning {
		return Job{}, domain.Errorf(domain.ErrConflict, "the job is %s already", j.State)
	}
	ev := jobEvent{JobID: j.ID, TenantID: j.TenantID, Matched: j.Matched, Done: j.Done}
	if _, err := s.publishJob(ctx, by, TypeReplayCancelled, ev, s.now()); err != nil {
		return Job{}, err
	}
	if err := s.auditReplay(ctx, by, "replay.cancelled", j.TenantID, j.ID, nil); err != nil {
		return Job{}, err
	}
	j.State = StateCancelled
	return j, nil
}

func jobOf(r db.ReplayJob) (Job, error) {
	j := Job{ID: r.ID, TenantID: r.TenantID, Mode: r.Mode, State: r.State, Matched: r.Matched, Done: r.Done, Rate: r.Rate,
		Error: r.Error, RequestedBy: r.RequestedBy, RequestedAt: r.RequestedAt.UTC(), StartedAt: r.StartedAt, UpdatedAt: r.UpdatedAt.UTC(),
		FinishedAt: r.FinishedAt, Cursor: uint64(r.Cursor)}
	if err := json.Unmarshal(r.Selection, &j.Selection); err != nil {
		return Job{}, fmt.Errorf("job %s selection: %w", r.ID, err)
	}
	return j, nil
}

// JobsProjection makes the replay_jobs read model of the replay.* events.
// Run it under a projections.Runner (NewJobsRunner).
type JobsProjection struct{}

// JobsProjector is the name of the jobs' projector.
const JobsProjector = "replay_jobs"

// Name is JobsProjector.
func (JobsProjection) Name() string { return JobsProjector }

// Subjects are the replay events of every tenant and of the operators.
func (JobsProjection) Subjects() []string { return []string{streams.Subject("*", "replay.>")} }

// Prepare decodes the job event.
func (JobsProjection) Prepare(ev *projections.Event) error {
	var je jobEvent
	if err := json.Unmarshal(ev.Data, &je); err != nil || je.JobID == uuid.Nil {
		return &projections.PoisonError{Err: fmt.Errorf("%s: not a replay job event: %v", ev.Subject, err)}
	}
	ev.Prepared = &je
	return nil
}

// Apply writes each event's change to its job, in stream order. Every
// statement is guarded by the job's last_seq, so an event applied again
// changes nothing.
func (JobsProjection) Apply(ctx context.Context, dbtx db.DBTX, events []*projections.Event, _ *[]projections.Notice) error {
	q := db.New(dbtx)
	for _, ev := range events {
		je := ev.Prepared.(*jobEvent)
		seq, at := int64(ev.Seq), ev.ReceivedAt
		var err error
		switch ev.Type {
		case TypeReplayRequested:
			sel, merr := json.Marshal(je.Selection)
			if merr != nil {
				return merr
			}
			err = q.UpsertReplayRequested(ctx, db.UpsertReplayRequestedParams{ID: je.JobID, TenantID: je.TenantID, Mode: je.Mode,
				Selection: sel, Matched: je.Matched, RequestedBy: je.RequestedBy, At: at, Seq: seq})
		case TypeReplayProgress:
			err = q.UpdateReplayProgress(ctx, db.UpdateReplayProgressParams{ID: je.JobID, At: at, Matched: je.Matched, Done: je.Done,
				Rate: je.Rate, Cursor: int64(je.Cursor), Seq: seq})
		case TypeReplayFinished, TypeReplayCancelled:
			state := StateCancelled
			if ev.Type == TypeReplayFinished {
				state = StateFinished
				if je.Error != "" {
					state = StateFailed
				}
			}
			err = q.EndReplay(ctx, db.EndReplayParams{ID: je.JobID, State: state, Done: je.Done, Error: je.Error, At: at, Seq: seq})
		}
		if err != nil {
			return err
		}
	}
	return nil
}
