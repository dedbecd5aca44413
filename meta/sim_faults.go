package meta

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// Faults are troubles the simulated Graph API adds on purpose, so that
// wam's retries and back-off meet them.
type Faults struct {
	// ErrorShare of messages (0 to 1) are refused with ErrorCode (default
	// 131000, something went wrong; 130429, 131016 or 131056 are others
	// worth trying).
	ErrorShare float64
	ErrorCode  int
	// Every BurstEvery, for BurstLength, every Graph API request is
	// answered with BurstCode (default 131016, service unavailable: HTTP
	// 503). The first burst starts BurstEvery after the simulator did.
	BurstEvery  time.Duration
	BurstLength time.Duration
	BurstCode   int
	// Latency, plus up to LatencyJitter more, delays every Graph API
	// answer.
	Latency       time.Duration
	LatencyJitter time.Duration
}

func (f *Faults) setDefaults() {
	if f.ErrorCode == 0 {
		f.ErrorCode = CodeUnknown
	}
	if f.BurstCode == 0 {
		f.BurstCode = CodeServiceUnavailable
	}
}

// SetFaults replaces the faults the simulator adds.
func (s *Simulator) SetFaults(f Faults) {
	f.setDefaults()
	s.mu.Lock()
	s.faults = f
	s.mu.Unlock()
}

// injectFault waits the configured latency and answers the error of a
// burst under way, if any; nil lets the request through.
func (s *Simulator) injectFault(r *http.Request) *simError {
	s.mu.Lock()
	f := s.faults
	since := s.now().Sub(s.started)
	s.mu.Unlock()
	if wait := f.Latency + jitter(f.LatencyJitter); wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return metaErr(CodeServiceUnavailable, "request canceled")
		}
	}
	if f.BurstEvery > 0 && f.BurstLength > 0 && since >= f.BurstEvery && since%f.BurstEvery < f.BurstLength {
		return s.reject(metaErr(f.BurstCode, "Simulated outage"))
	}
	return nil
}

func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	return rand.N(d)
}

// sendFault refuses ErrorShare of messages with ErrorCode.
func (s *Simulator) sendFault() *simError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.faults.ErrorShare > 0 && s.rng.Float64() < s.faults.ErrorShare {
		return metaErr(s.faults.ErrorCode, "Simulated failure")
	}
	return nil
}
