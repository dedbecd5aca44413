package supervisor

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wam-project/wam/internal/await"
)

// fakeService is down until a Start that is not told to fail.
type fakeService struct {
	up    atomic.Bool
	fail  atomic.Int32 // how many Starts fail from now on
	calls atomic.Int32
}

func (f *fakeService) service() Service {
	return Service{
		Name: "fake",
		Check: func() error {
			if f.up.Load() {
				return nil
			}
			return errors.New("it is down")
		},
		Start: func(ctx context.Context) error {
			f.calls.Add(1)
			if f.fail.Add(-1) >= 0 {
				return errors.New("no luck")
			}
			f.up.Store(true)
			return nil
		},
	}
}

// TestBackoff: failed starts are retried after a wait that doubles up to
// MaxBackoff; a service that dies again soon after its restart keeps the
// wait it had, and one that stayed up for MaxBackoff gets MinBackoff again.
func TestBackoff(t *testing.T) {
	t.Parallel()
	f := &fakeService{}
	f.fail.Store(4)
	logs := &logRecorder{}
	handler := slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})
	s := Start(t.Context(), f.service(), Options{Interval: 5 * time.Millisecond, MinBackoff: 10 * time.Millisecond,
		MaxBackoff: time.Second, Logger: slog.New(handler)})
	defer s.Stop()
	eventually(t, "the service started", f.up.Load)
	if got, want := logs.retries(), []string{"10ms", "20ms", "40ms", "80ms"}; !equal(got, want) {
		t.Fatalf("waits between attempts %v, want %v", got, want)
	}

	// Down again at once (well within MaxBackoff): the wait goes on doubling.
	f.fail.Store(1)
	f.up.Store(false)
	eventually(t, "the service started again", f.up.Load)
	if got, want := logs.retries(), []string{"10ms", "20ms", "40ms", "80ms", "320ms"}; !equal(got, want) {
		t.Fatalf("waits between attempts %v, want %v", got, want)
	}

	// Up for MaxBackoff: the next outage starts over from MinBackoff.
	eventually(t, "the backoff reset", func() bool { return logs.count("fake has stayed up") == 1 })
	f.fail.Store(1)
	f.up.Store(false)
	eventually(t, "the service started a third time", f.up.Load)
	if got := logs.retries(); got[len(got)-1] != "10ms" {
		t.Fatalf("waits between attempts %v, want the last 10ms", got)
	}
	if n := logs.count("fake started again"); n != 3 {
		t.Errorf("%d restarts logged, want 3", n)
	}
}

// TestStopsWithContext: a supervisor waiting to retry ends when its
// context does, and starts nothing more.
func TestStopsWithContext(t *testing.T) {
	t.Parallel()
	f := &fakeService{}
	f.fail.Store(1000)
	ctx, cancel := context.WithCancel(t.Context())
	s := Start(ctx, f.service(), Options{Interval: 5 * time.Millisecond, MinBackoff: time.Hour})
	eventually(t, "a first attempt", func() bool { return f.calls.Load() == 1 })
	cancel()
	select {
	case <-s.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the supervisor did not stop with its context")
	}
	s.Stop() // and Stop after that returns too
	if n := f.calls.Load(); n != 1 {
		t.Errorf("%d attempts, want 1", n)
	}
}

// logRecorder keeps the JSON lines of a slog.JSONHandler.
type logRecorder struct {
	mu    sync.Mutex
	lines []map[string]any
}

func (l *logRecorder) Write(p []byte) (int, error) {
	var rec map[string]any
	if err := json.Unmarshal(p, &rec); err != nil {
		return 0, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, rec)
	return len(p), nil
}

// retries are the retry_in values of the failed attempts so far.
func (l *logRecorder) retries() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, rec := range l.lines {
		if r, ok := rec["retry_in"].(string); ok {
			out = append(out, r)
		}
	}
	return out
}

func (l *logRecorder) count(msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, rec := range l.lines {
		if m, _ := rec["msg"].(string); strings.HasPrefix(m, msg) {
			n++
		}
	}
	return n
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// eventually fails the test unless cond holds within 10 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	await.Until(t, 10*time.Second, what, cond)
}
