package ops

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sender"
	"github.com/wam-project/wam/streams"
)

// Stats are the health figures of streams and workers (GET /api/ops/stats,
// and /metrics).
type Stats struct {
	At         time.Time
	Stream     StreamStats
	Projectors []ProjectorStats
	Sender     SenderStats
	Media      MediaStats
	Parked     map[string]int64 // by projector
	Replays    map[string]int64 // jobs by state
}

// StreamStats describe the WAM stream.
type StreamStats struct {
	Messages, Bytes   uint64
	FirstSeq, LastSeq uint64
	FirstAt, LastAt   time.Time
	// Tenants counts events by tenant token (_unrouted, _ops included).
	Tenants map[string]uint64
}

// ProjectorStats describe one projector.
type ProjectorStats struct {
	Name       string
	Checkpoint uint64
	// LagEvents is how many stream events lie from the first one beyond
	// the checkpoint that the projector reads to the end of the stream (an
	// upper bound: some after it may be of subjects it does not read); 0
	// when nothing it reads waits. Of a projector another process runs,
	// the subjects are not known here, and every event counts.
	LagEvents uint64
	// LagSeconds is how long that first event has waited; 0 when caught
	// up.
	LagSeconds float64
	// Rate is events applied per second by this process since the last
	// look; InProcess tells whether this process runs the projector.
	Rate      float64
	InProcess bool
	UpdatedAt time.Time
	// State is what this process's runner of it does (projections.RunnerState),
	// since StateSince, with the error behind retrying or backing_off;
	// StateUnknown when this process does not run it.
	State      string
	StateSince time.Time
	StateError string
}

// StateUnknown is the state of a projector the answering process does not run.
const StateUnknown = "unknown"

// SenderStats describe the sender: its durable consumer, the sends the
// read model shows waiting, and the counters of the sender in this process.
type SenderStats struct {
	Pending     uint64 // send requests not delivered to the sender yet
	InFlight    int    // delivered, not acknowledged (being sent, or waiting to retry)
	Redelivered int    // delivered more than once (retries, takeovers)
	HeldNumbers int64  // numbers whose token Meta refused: their sends wait
	Numbers     int64
	// Queued is how many sends the read model shows waiting (requested, no
	// outcome yet), all numbers together; ByNumber the numbers with the
	// most of them, and every held number.
	Queued   int64
	ByNumber []NumberPending
	// InProcess tells whether this process runs a sender, Active whether
	// it is the installation's active one (holding the lock). The counters
	// are that sender's since the process started (sender.Counters).
	InProcess, Active        bool
	Accepted, Failed         int64
	Retries, Resent, Working int64
}

// NumberPending is one number's sends waiting for the sender.
type NumberPending struct {
	TenantID       uuid.UUID
	PhoneNumberID  string
	Pending        int64
	OldestQueuedAt *time.Time // when the oldest waiting send was requested
	Held           bool       // Meta refused the number's token: its sends wait for a new one
}

// byNumberLimit bounds SenderStats.ByNumber.
const byNumberLimit = 50

// MediaStats count the media files by state.
type MediaStats struct{ Pending, Failed, Stored int64 }

// statsSampler remembers the last look, for rates.
type statsSampler struct {
	mu   sync.Mutex
	last map[string]sample
}

type sample struct {
	at     time.Time
	events uint64
}

// runnerStats is what a projector in this process tells (*projections.Runner).
type runnerStats interface {
	Stats() (checkpoint, events uint64)
	Status() projections.RunnerStatus
}

// subjecter is a projector that says which subjects it reads
// (*projections.Runner).
type subjecter interface{ Subjects() []string }

// firstPending is the first event after checkpoint that the projector
// reads, nil when there is none: for a projector this process runs, of
// its own subjects (a projector that reads few events is not behind
// because others arrive); for another, of any subject.
func (s *Service) firstPending(ctx context.Context, stream jetstream.Stream, name string, checkpoint uint64) (*jetstream.RawStreamMsg, error) {
	subjects := []string{streams.Subject("*", ">")}
	for _, p := range s.opts.Projectors {
		if sp, ok := p.(subjecter); ok && p.Name() == name {
			subjects = sp.Subjects()
		}
	}
	var first *jetstream.RawStreamMsg
	for _, subj := range subjects {
		m, err := stream.GetMsg(ctx, checkpoint+1, jetstream.WithGetMsgSubject(subj))
		switch {
		case errors.Is(err, jetstream.ErrMsgNotFound):
		case err != nil:
			return nil, err
		case first == nil || m.Sequence < first.Sequence:
			first = m
		}
	}
	return first, nil
}

// SenderCounters are the counters of the sender this process runs
// (*sender.Sender).
type SenderCounters interface {
	Counters() sender.Counters
}

// Stats gathers the health figures (operators only). Each dependency is
// asked within ctx's deadline.
func (s *Service) Stats(ctx context.Context, by Actor) (Stats, error) {
	if !by.Operator() {
		return Stats{}, errOperatorsOnly
	}
	return s.stats(ctx)
}

func (s *Service) stats(ctx context.Context) (Stats, error) {
	st := Stats{At: s.now().UTC(), Parked: map[string]int64{}, Replays: map[string]int64{}}
	stream, err := s.stream(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("stream: %w", err)
	}
	info, err := stream.Info(ctx, jetstream.WithSubjectFilter("wam.>"))
	if err != nil {
		return Stats{}, fmt.Errorf("stream info: %w", err)
	}
	st.Stream = StreamStats{Messages: info.State.Msgs, Bytes: info.State.Bytes, FirstSeq: info.State.FirstSeq, LastSeq: info.State.LastSeq,
		FirstAt: info.State.FirstTime.UTC(), LastAt: info.State.LastTime.UTC(), Tenants: map[string]uint64{}}
	for subject, n := range info.State.Subjects {
		if tenant, _, ok := streams.ParseSubject(subject); ok {
			st.Stream.Tenants[tenant] += n
		}
	}
	cps, err := s.q.ListCheckpoints(ctx)
	if err != nil {
		return Stats{}, err
	}
	for _, cp := range cps {
		ps := ProjectorStats{Name: cp.Name, Checkpoint: uint64(cp.LastSeq), UpdatedAt: cp.UpdatedAt.UTC(), State: StateUnknown}
		if last := info.State.LastSeq; last > ps.Checkpoint {
			first, err := s.firstPending(ctx, stream, cp.Name, ps.Checkpoint)
			if err != nil {
				return Stats{}, fmt.Errorf("event after %s's checkpoint: %w", cp.Name, err)
			}
			if first != nil {
				ps.LagEvents = last - first.Sequence + 1
				ps.LagSeconds = max(0, st.At.Sub(first.Time).Seconds())
			}
		}
		for _, p := range s.opts.Projectors {
			if c, ok := p.(runnerStats); ok && p.Name() == cp.Name {
				ps.InProcess = true
				_, events := c.Stats()
				ps.Rate = s.sampler.rate(cp.Name, events, time.Now())
				status := c.Status()
				ps.State, ps.StateError = string(status.State), status.Err
				if !status.Since.IsZero() {
					ps.StateSince = status.Since.UTC()
				}
			}
		}
		st.Projectors = append(st.Projectors, ps)
	}
	if ci, err := stream.Consumer(ctx, senderConsumer); err == nil {
		ci, err := ci.Info(ctx)
		if err != nil {
			return Stats{}, fmt.Errorf("sender consumer: %w", err)
		}
		st.Sender.Pending, st.Sender.InFlight, st.Sender.Redelivered = ci.NumPending, ci.NumAckPending, ci.NumRedelivered
	} else if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return Stats{}, fmt.Errorf("sender consumer: %w", err)
	}
	held, err := s.q.CountHeldNumbers(ctx)
	if err != nil {
		return Stats{}, err
	}
	st.Sender.HeldNumbers, st.Sender.Numbers = held.Held, held.Numbers
	pending, err := s.q.PendingSends(ctx, byNumberLimit)
	if err != nil {
		return Stats{}, err
	}
	for _, p := range pending {
		st.Sender.Queued = p.Total
		st.Sender.ByNumber = append(st.Sender.ByNumber, NumberPending{TenantID: p.TenantID, PhoneNumberID: p.PhoneNumberID,
			Pending: p.Pending, OldestQueuedAt: utcPtr(p.OldestQueuedAt), Held: p.Held})
	}
	if s.opts.Sender != nil {
		c := s.opts.Sender.Counters()
		st.Sender.InProcess, st.Sender.Active = true, c.Active
		st.Sender.Accepted, st.Sender.Failed, st.Sender.Retries, st.Sender.Resent, st.Sender.Working = c.Accepted, c.Failed, c.Retries, c.Resent, c.Pending
	}
	mc, err := s.q.MediaCounts(ctx)
	if err != nil {
		return Stats{}, err
	}
	st.Media = MediaStats{Pending: mc.Pending, Failed: mc.Failed, Stored: mc.Stored}
	parked, err := s.q.CountParked(ctx)
	if err != nil {
		return Stats{}, err
	}
	for _, p := range parked {
		st.Parked[p.Projector] = p.Events
	}
	jobs, err := s.q.CountReplayJobs(ctx)
	if err != nil {
		return Stats{}, err
	}
	for _, j := range jobs {
		st.Replays[j.State] = j.Jobs
	}
	return st, nil
}

// senderConsumer is the sender's durable consumer.
const senderConsumer = sender.ConsumerName

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (sm *statsSampler) rate(name string, events uint64, now time.Time) float64 {
	sm.mu.Lock()
	defer sm.mu.Unlock()
	if sm.last == nil {
		sm.last = map[string]sample{}
	}
	prev, ok := sm.last[name]
	sm.last[name] = sample{at: now, events: events}
	if !ok || !now.After(prev.at) || events < prev.events {
		return 0
	}
	return float64(events-prev.events) / now.Sub(prev.at).Seconds()
}

// streamInfo is the WAM stream's info.
func (s *Service) streamInfo(ctx context.Context) (*jetstream.StreamInfo, error) {
	stream, err := s.stream(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("stream info: %w", err)
	}
	return info, nil
}

// Figures are the health figures for the process's own /metrics: Stats
// without an actor.
func (s *Service) Figures(ctx context.Context) (Stats, error) { return s.stats(ctx) }
