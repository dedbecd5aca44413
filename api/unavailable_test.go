package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/sql/pgtest"
	"github.com/wam-project/wam/streams"
)

// TestWebhookWhileJetStreamIsDown stops the NATS server in the middle of a
// stream of webhooks and starts it again: while it is away webhooks get 503
// (Meta retries them), and every webhook that got a 200 is in the stream.
func TestWebhookWhileJetStreamIsDown(t *testing.T) {
	pool := pgtest.New(t)
	dir := t.TempDir()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: dir, Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	url := ns.ClientURL()
	listen := strings.TrimPrefix(url, "nats://")
	nc, err := streams.Connect(url, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := streams.EnsureStream(ctx, js, streams.StreamOptions{}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, pool: pool, js: js}
	e.h = api.New(api.Config{AppSecret: appSecret, PublishTimeout: 300 * time.Millisecond},
		pool, streams.NewPublisher(js), slog.New(slog.NewTextHandler(io.Discard, nil)))
	tn := e.mustTenant("100", "111")

	var (
		mu     sync.Mutex
		acked  []string
		status = map[int]int{}
	)
	send := func(i int) int {
		wamid := fmt.Sprintf("wamid.down.%d", i)
		body := textWebhook("100", "111", wamid, "16505551234", "hello")
		code := e.post(body, sign(body)).Code
		mu.Lock()
		defer mu.Unlock()
		status[code]++
		if code == http.StatusOK {
			acked = append(acked, wamid)
		}
		return code
	}
	for i := range 20 {
		if code := send(i); code != 200 {
			t.Fatalf("webhook %d before the outage: %d", i, code)
		}
	}
	ns.Shutdown()
	ns.WaitForShutdown()
	for i := 20; i < 25; i++ {
		if code := send(i); code != http.StatusServiceUnavailable {
			t.Fatalf("webhook %d during the outage: status %d, want 503", i, code)
		}
	}
	ns, err = streams.StartServer(streams.ServerOptions{StoreDir: dir, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Shutdown()
	// Meta keeps delivering; once the client has reconnected they are stored again.
	deadline := time.Now().Add(20 * time.Second)
	i := 25
	for ok := 0; ok < 20; i++ {
		if time.Now().After(deadline) {
			t.Fatalf("no recovery after restart: %v", status)
		}
		if send(i) == 200 {
			ok++
		}
	}

	st, err := js.Stream(ctx, streams.StreamName)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{streams.WebhookSubject(tn.ID.String())}})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := st.Info(ctx)
	batch, err := cons.FetchNoWait(int(info.State.Msgs))
	if err != nil {
		t.Fatal(err)
	}
	for m := range batch.Messages() {
		for _, w := range acked {
			if strings.Contains(string(m.Data()), `"`+w+`"`) {
				stored[w] = true
			}
		}
	}
	for _, w := range acked {
		if !stored[w] {
			t.Errorf("%s was answered 200 but is not in the stream", w)
		}
	}
	t.Logf("statuses: %v, acked %d", status, len(acked))
}
