package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wam-project/wam/meta"
)

func TestSimHelpExplainsEveryFlag(t *testing.T) {
	t.Parallel()
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"wam", "sim", "--help"}, getenvFrom(nil), &out, &errOut); err != nil {
		t.Fatal(err)
	}
	help := errOut.String()
	fs := flag.NewFlagSet("probe", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	// Every flag wam sim defines shows in its help with an explanation.
	for _, line := range strings.Split(help, "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSpace(line), "-"); ok {
			fs.Bool(strings.Fields(name)[0], false, "")
		}
	}
	for _, want := range []string{"listen", "webhook-url", "app-secret", "number", "throughput", "pair-interval", "pair-burst",
		"window-errors-sync", "sent-after", "delivered-after", "read-after", "unread-share", "out-of-order-share", "duplicate-share",
		"fail-share", "fail-code", "template-review", "reject-template", "customers", "customer-rate", "error-share", "error-code",
		"burst-every", "burst-length", "burst-code", "latency", "latency-jitter", "retry-base", "retry-max", "retry-for",
		"webhook-workers", "public-url", "seed", "log-level"} {
		if fs.Lookup(want) == nil {
			t.Errorf("wam sim --help does not explain --%s", want)
		}
	}
	if !strings.Contains(help, "META_API_BASE_URL") {
		t.Error("the help does not say how to point wam at the simulator")
	}
}

func TestSimServesAndSendsWebhooks(t *testing.T) {
	t.Parallel()
	const secret = "sim-cmd-secret"
	var mu sync.Mutex
	var bodies [][]byte
	badSigs := 0
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Header.Get("X-Hub-Signature-256") != meta.Sign(b, secret) {
			badSigs++
		}
		bodies = append(bodies, b)
	}))
	t.Cleanup(sink.Close)

	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"wam", "sim", "--listen", "127.0.0.1:0", "--webhook-url", sink.URL, "--app-secret", secret,
			"--number", "200:201:+1 555-000-0201:EAAG-cmd-token", "--sent-after", "1ms", "--delivered-after", "1ms", "--read-after", "1ms",
			"--unread-share", "0", "--fail-share", "0", "--out-of-order-share", "0", "--duplicate-share", "0"}, getenvFrom(nil), pw, testLog(t))
		pw.Close()
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "wam sim serving on "); ok {
				urls <- u
			}
		}
	}()
	var base string
	select {
	case base = <-urls:
	case err := <-done:
		t.Fatalf("wam sim exited: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("wam sim did not say where it serves")
	}

	post := func(path string, v any) map[string]any {
		b, _ := json.Marshal(v)
		resp, err := http.Post(base+path, "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return out
	}
	post("/_sim/customers/messages", map[string]any{"phone_number_id": "201", "wa_id": "5511999990000", "name": "Ana", "text": "oi"})
	c := meta.NewClient(base, "v23.0")
	r, err := c.SendMessage(ctx, "201", "EAAG-cmd-token", []byte(`{"messaging_product":"whatsapp","to":"5511999990000","type":"text","text":{"body":"olá"},"biz_opaque_callback_data":"m-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	poll := time.NewTicker(5 * time.Millisecond)
	defer poll.Stop()
	// The customer's message, then sent, delivered and read: statuses due
	// at once may come in one webhook, as Meta batches them.
	want := [][]byte{[]byte(`"text":{"body":"oi"}`), []byte(`"status":"sent"`), []byte(`"status":"delivered"`), []byte(`"status":"read"`)}
	for {
		mu.Lock()
		all := bytes.Join(bodies, nil)
		mu.Unlock()
		missing := 0
		for _, w := range want {
			if !bytes.Contains(all, w) {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of the customer's message and 3 statuses did not come: %s", missing, all)
		}
		<-poll.C
	}
	mu.Lock()
	if badSigs != 0 || !bytes.Contains(bytes.Join(bodies, nil), []byte(r.MessageID)) {
		t.Errorf("%d bad signatures; webhooks %s", badSigs, bytes.Join(bodies, []byte("\n")))
	}
	mu.Unlock()
	resp, err := http.Get(base + "/_sim/stats?sends=false")
	if err != nil {
		t.Fatal(err)
	}
	var st meta.SimStats
	_ = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if st.Accepted != 1 || st.ByCallback["m-1"] != 1 || st.Sends != nil {
		t.Errorf("stats %+v", st)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("wam sim stopped with %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("wam sim did not stop")
	}
}
