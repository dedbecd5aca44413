package projections

import (
	"sync"
	"time"
)

// RunnerState is what a Runner is doing, for the operators (GET
// /api/ops/stats) and /metrics.
type RunnerState string

// The states of a Runner. Yielding and retrying are states of a running
// session; retrying wins over yielding when both hold.
const (
	// RunnerStopped: Run is not running (not started yet, or returned).
	RunnerStopped RunnerState = "stopped"
	// RunnerStarting: a session connects, takes the projector lock and
	// opens its consumer.
	RunnerStarting RunnerState = "starting"
	// RunnerStandby: another runner of the projector (another process)
	// holds the lock; this one waits to take over.
	RunnerStandby RunnerState = "standby"
	// RunnerRunning: the session consumes and applies events, or waits
	// for them.
	RunnerRunning RunnerState = "running"
	// RunnerYielding: a batch is held back while Options.Busy reports a
	// burst of webhooks (for at most MaxDefer).
	RunnerYielding RunnerState = "yielding"
	// RunnerRetrying: a batch failed for a reason that is not its events'
	// (the database is away or timed out) and is retried with backoff.
	RunnerRetrying RunnerState = "retrying"
	// RunnerBackingOff: the session ended with an error (lost lock,
	// consumer gone, no database); a new one starts after a wait.
	RunnerBackingOff RunnerState = "backing_off"
)

// RunnerStatus is a Runner's state, since when it holds, and the error
// behind retrying or backing_off ("" otherwise).
type RunnerStatus struct {
	State RunnerState
	Since time.Time
	Err   string
}

// runnerState is what Runner.Status reports, written by the session's
// goroutines.
type runnerState struct {
	mu       sync.Mutex
	phase    RunnerState // stopped ("" too), starting, standby, running or backing_off
	yielding bool
	retrying bool
	err      string
	shown    RunnerState // the state last computed, and since when
	since    time.Time
}

// update changes the state with fn and notes when the state shown changes.
func (s *runnerState) update(fn func(s *runnerState)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
	if st := s.current(); st != s.shown {
		s.shown, s.since = st, time.Now()
	}
}

func (s *runnerState) current() RunnerState {
	switch {
	case s.phase == "":
		return RunnerStopped
	case s.phase != RunnerRunning:
		return s.phase
	case s.retrying:
		return RunnerRetrying
	case s.yielding:
		return RunnerYielding
	}
	return RunnerRunning
}

func (s *runnerState) status() RunnerStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := RunnerStatus{State: s.current(), Since: s.since}
	if st.State == RunnerRetrying || st.State == RunnerBackingOff {
		st.Err = s.err
	}
	return st
}

// enter moves the runner to phase, clearing what belonged to the phase before.
func (s *runnerState) enter(phase RunnerState, err error) {
	s.update(func(s *runnerState) {
		s.phase, s.yielding, s.retrying, s.err = phase, false, false, ""
		if err != nil {
			s.err = err.Error()
		}
	})
}

// Status is what the runner is doing now.
func (r *Runner) Status() RunnerStatus { return r.state.status() }
