package streams

import (
	"context"
	"testing"
	"time"
)

// TestRetention: serve's WAM_RETENTION becomes the stream's MaxAge, and a
// command that leaves it (MaxAge < 0) does not undo it.
func TestRetention(t *testing.T) {
	ns, err := StartServer(ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(ns.Shutdown)
	_, js := mustConnect(t, ns)
	ctx := context.Background()
	for _, step := range []struct {
		give, want time.Duration
	}{{0, 0}, {90 * 24 * time.Hour, 90 * 24 * time.Hour}, {-1, 90 * 24 * time.Hour}, {0, 0}, {-1, 0}} {
		st, err := EnsureStream(ctx, js, StreamOptions{MaxAge: step.give})
		if err != nil {
			t.Fatal(err)
		}
		if got := st.CachedInfo().Config.MaxAge; got != step.want {
			t.Errorf("MaxAge %v: the stream keeps events for %v, want %v", step.give, got, step.want)
		}
	}
}
