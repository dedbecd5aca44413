package streams

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wam-project/wam/supervisor"
)

// TestEmbeddedSupervised: a supervised embedded server that shuts down, or
// loses JetStream as on a full disk, is replaced, and a connection made
// through the Embedded publishes to the WAM stream again, with the events
// stored before still there.
func TestEmbeddedSupervised(t *testing.T) {
	e, err := StartEmbedded(ServerOptions{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Shutdown)
	sup := e.Supervise(t.Context(), supervisor.Options{Interval: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond})
	t.Cleanup(sup.Stop) // before Shutdown
	_, js := mustConnect(t, e)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := EnsureStream(ctx, js, StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	p := NewPublisher(js)
	var stored []uint64
	// publish stores one more event, trying until the server takes it. A
	// try that timed out may have been stored all the same; the retry, with
	// the same Nats-Msg-Id, is then answered with that copy.
	publish := func() {
		t.Helper()
		e := Event{Tenant: "t1", Type: TypeWebhookMeta, Data: fmt.Appendf(nil, `{"n":%d}`, len(stored))}
		deadline := time.Now().Add(30 * time.Second)
		for {
			ctx, cancel := context.WithTimeout(t.Context(), time.Second)
			seq, err := p.Publish(ctx, e)
			cancel()
			if err == nil {
				stored = append(stored, seq)
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("publish after 30s: %v", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for range 3 {
		publish()
	}

	for _, tt := range []struct {
		name string
		stop func()
	}{
		{"shut down", func() { e.Server().Shutdown() }},
		{"JetStream disabled", func() { _ = e.Server().ShutdownJetStream() }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			old := e.Server()
			tt.stop()
			publish()
			if e.Server() == old {
				t.Fatal("published to the old server")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			st, err := js.Stream(ctx, StreamName)
			if err != nil {
				t.Fatal(err)
			}
			info, err := st.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if info.State.Msgs != uint64(len(stored)) {
				t.Errorf("%d events in the stream, want %d", info.State.Msgs, len(stored))
			}
			for i, seq := range stored {
				m, err := st.GetMsg(ctx, seq)
				if err != nil {
					t.Fatalf("event %d (seq %d): %v", i, seq, err)
				}
				if want := fmt.Sprintf(`{"n":%d}`, i); string(m.Data) != want {
					t.Errorf("seq %d holds %s, want %s", seq, m.Data, want)
				}
			}
		})
	}
}
