package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/meta"
)

const benchSendUsage = `Usage: wam bench send [--numbers K] [-n N] [-c C] [--statuses=false]

Drives the whole send path in one process: N template messages posted to
POST /api/messages from C connections, spread over K numbers and N
recipients, through the stream and the sender to an in-process Meta
simulator (each number at Meta's 80 messages/s), whose status webhooks come
back into the read model. It starts its own wam serve, on a fresh data dir
with a private PostgreSQL unless DATABASE_URL names one.

The last line of stdout is one JSON object:
  sent                     messages posted and answered 202
  accept_rate_per_s        202s per second while posting
  p99_ms                   latency of the 202s
  send_rate_per_s          sends the simulator accepted per second
  p99_to_sent_ms           from the 202 to "sent" in the read model (statuses on)
  rate_limit_errors        130429 answers the simulator gave
  max_number_rate_ratio    the highest per-number rate in any second, over its limit
  double_sends             messages the simulator accepted more than once

Flags:
`

type sendBenchResult struct {
	Sent              int     `json:"sent"`
	AcceptRatePerS    float64 `json:"accept_rate_per_s"`
	P99Ms             float64 `json:"p99_ms"`
	SendRatePerS      float64 `json:"send_rate_per_s"`
	P99ToSentMs       float64 `json:"p99_to_sent_ms,omitempty"`
	RateLimitErrors   int     `json:"rate_limit_errors"`
	MaxNumberRateRate float64 `json:"max_number_rate_ratio"`
	DoubleSends       int     `json:"double_sends"`
	Statuses          bool    `json:"statuses"`
	Numbers           int     `json:"numbers"`
	Concurrency       int     `json:"concurrency"`
}

// benchSend is `wam bench send`: see benchSendUsage.
func benchSend(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench send", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchSendUsage)
		fs.PrintDefaults()
	}
	numbers := fs.Int("numbers", 100, "`count` of phone numbers the messages are spread over")
	n := fs.Int("n", 20000, "`count` of messages")
	c := fs.Int("c", 64, "`concurrency`: requests in flight at once")
	statuses := fs.Bool("statuses", true, "the simulator sends status webhooks; false measures the send path alone")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up waiting for the sends after this long")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if *numbers < 1 || *n < 1 || *c < 1 {
		return errors.New("--numbers, -n and -c must be at least 1")
	}
	res, err := runSendBench(ctx, getenv, *numbers, *n, *c, *statuses, *timeout, stderr)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

func runSendBench(ctx context.Context, getenv func(string) string, numbers, n, conc int, statuses bool, timeout time.Duration, stderr io.Writer) (sendBenchResult, error) {
	res := sendBenchResult{Statuses: statuses, Numbers: numbers, Concurrency: conc}
	dir, err := os.MkdirTemp("", "wam-bench-send-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg := config{DataDir: dir, DatabaseURL: getenv("DATABASE_URL"), LogLevel: "error"}
	log, _ := cfg.logger(stderr)
	database, err := openDatabase(ctx, cfg, log, true)
	if err != nil {
		return res, err
	}
	defer database.Close()
	dbURL := database.Pool.Config().ConnString()
	port, err := freePort()
	if err != nil {
		return res, err
	}
	base := "http://127.0.0.1:" + strconv.Itoa(port)
	const secret = "bench-send-app-secret"
	o := meta.SimOptions{WebhookURL: base + "/api/webhook", AppSecret: secret, NoStatuses: !statuses,
		DeliveredAfter: 200 * time.Millisecond, ReadAfter: time.Second, WebhookWorkers: 64}
	dm, err := listenSim(o)
	if err != nil {
		return res, err
	}
	defer dm.Close()
	env := map[string]string{"DATABASE_URL": dbURL, "WAM_DATA_DIR": dir, "META_APP_SECRET": secret,
		"META_API_BASE_URL": dm.url, "LOG_LEVEL": "error", "WAM_DEBUG_LISTEN": getenv("WAM_DEBUG_LISTEN")}
	getenvB := func(k string) string { return env[k] }
	var out bytes.Buffer
	if err := run(ctx, []string{"wam", "tenant", "create", "--name", "bench-send", "--requests-per-minute", "1000000", "--messages-per-minute", "10000000"}, getenvB, &out, stderr); err != nil {
		return res, err
	}
	var created struct {
		TenantID string `json:"tenant_id"`
		APIKey   string `json:"api_key"`
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &created); err != nil {
		return res, err
	}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	pr, pw := io.Pipe()
	urls := serving(pr)
	go func() {
		served <- run(serveCtx, []string{"wam", "serve", "--port", strconv.Itoa(port)}, getenvB, pw, stderr)
		pw.Close()
	}()
	defer func() { stopServe(); <-served }()
	select {
	case <-urls:
	case err := <-served:
		return res, fmt.Errorf("serve: %v", err)
	case <-time.After(90 * time.Second):
		return res, errors.New("serve did not start within 90 s")
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * conc, MaxIdleConns: 2 * conc, Proxy: nil}, Timeout: 30 * time.Second}
	call := func(method, path, body string) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		if err != nil {
			return 0, nil, err
		}
		req.Header.Set("Authorization", "Bearer "+created.APIKey)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b, nil
	}
	const waba = "900000000000001"
	pnids := make([]string, numbers)
	for i := range pnids {
		pnids[i] = strconv.Itoa(910000000000000 + i)
		token := fmt.Sprintf("EAAGbench-token-%08d-000000000000", i)
		dm.sim.AddNumber(waba, pnids[i], fmt.Sprintf("+1555%07d", i), "Bench", token)
		body := fmt.Sprintf(`{"phone_number_id":%q,"display_phone_number":"+1 555 %07d","waba_id":%q,"access_token":%q}`, pnids[i], i, waba, token)
		if code, b, err := call(http.MethodPost, "/api/waba/credentials", body); err != nil || code != http.StatusCreated {
			return res, fmt.Errorf("connect number %d: %d %s %v", i, code, b, err)
		}
	}
	dm.sim.AddTemplate(waba, meta.Template{Name: "hello", Language: "en_US", Category: "UTILITY",
		Components: json.RawMessage(`[{"type":"BODY","text":"Hello from the bench."}]`)})
	// Templates the API checks sends against come from Meta by a sync.
	if code, b, err := call(http.MethodPost, "/api/templates/sync", ""); err != nil || code >= 400 {
		return res, fmt.Errorf("template sync: %d %s %v", code, b, err)
	}
	for waited := time.Now(); ; {
		code, b, err := call(http.MethodGet, "/api/templates?name=hello", "")
		if err == nil && code == http.StatusOK && strings.Contains(string(b), `"hello"`) {
			break
		}
		if time.Since(waited) > 30*time.Second {
			return res, errors.New("the synced template did not show within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}

	fmt.Fprintf(stderr, "bench send: %d messages over %d numbers from %d connections (statuses %v)\n", n, numbers, conc, statuses)
	type post struct {
		id   string
		at   time.Time
		took time.Duration
	}
	posts := make([]post, n)
	// Each message is watched from its 202 on (statuses on): the time to
	// "sent" is from the 202, also while others are still being posted.
	toSent := watchSent(ctx, database.Pool, uuid.MustParse(created.TenantID), statuses)
	defer toSent.stop()
	next := make(chan int)
	var wg sync.WaitGroup
	var failed sync.Map
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for i := range next {
				body := fmt.Sprintf(`{"to":"1650%07d","phone_number_id":%q,"type":"template","template":{"name":"hello","language":{"code":"en_US"}}}`, i, pnids[i%numbers])
				t0 := time.Now()
				code, b, err := call(http.MethodPost, "/api/messages", body)
				took := time.Since(t0)
				if err != nil || code != http.StatusAccepted {
					failed.Store(i, fmt.Sprintf("%d %s %v", code, b, err))
					continue
				}
				var m struct{ ID string }
				_ = json.Unmarshal(b, &m)
				posts[i] = post{id: m.ID, at: t0.Add(took), took: took}
				if id, err := uuid.Parse(m.ID); err == nil {
					toSent.add(id, posts[i].at)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	posting := time.Since(start)
	var lat []time.Duration
	for _, p := range posts {
		if p.id == "" {
			continue
		}
		res.Sent++
		lat = append(lat, p.took)
	}
	failed.Range(func(k, v any) bool {
		fmt.Fprintf(stderr, "bench send: message %v not accepted: %v\n", k, v)
		return false
	})
	slices.Sort(lat)
	res.P99Ms = percentileMs(lat, 0.99)
	res.AcceptRatePerS = round1(float64(res.Sent) / posting.Seconds())
	fmt.Fprintf(stderr, "bench send: %d accepted in %.1fs (%.0f/s, p99 %.1f ms); waiting for the sends\n", res.Sent, posting.Seconds(), res.AcceptRatePerS, res.P99Ms)

	// Until the simulator has every message, and (statuses on) the read
	// model shows each sent.
	deadline := time.Now().Add(timeout)
	for {
		st := dm.sim.Stats()
		if st.Accepted >= res.Sent && (!statuses || toSent.done()) {
			break
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("after %s the simulator accepted %d of %d", timeout, st.Accepted, res.Sent)
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	st := dm.sim.Stats()
	fmt.Fprintf(stderr, "bench send: the simulator accepted %d sends, refused %v; its webhooks: %d delivered in %d attempts, %d failed\n",
		st.Accepted, st.Rejected, st.Webhooks.Delivered, st.Webhooks.Attempts, st.Webhooks.Failures)
	first, last := dm.firstLast()
	if last.After(first) {
		res.SendRatePerS = round1(float64(st.Accepted-1) / last.Sub(first).Seconds())
	}
	res.RateLimitErrors = st.Rejected["130429"]
	for _, m := range st.MaxPerSecond {
		res.MaxNumberRateRate = math.Max(res.MaxNumberRateRate, float64(m)/80)
	}
	res.MaxNumberRateRate = round3(res.MaxNumberRateRate)
	for _, k := range st.ByCallback {
		if k > 1 {
			res.DoubleSends++
		}
	}
	if statuses {
		res.P99ToSentMs = toSent.p99()
	}
	return res, nil
}

// sentWatch follows the read model (every 50 ms) until each message added
// shows sent, and keeps how long each took from its 202.
type sentWatch struct {
	mu      sync.Mutex
	pending map[uuid.UUID]time.Time // 202 at, not seen sent yet
	early   map[uuid.UUID]time.Time // first seen sent while not pending: before its 202 was counted (or after it was timed)
	took    []time.Duration
	quit    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

// watchSent follows the tenant's message rows as they change (the
// messages_changes index, by last_seq), so that each poll reads only what
// changed since the one before: polling the pending messages by id had
// cost PostgreSQL a third of its time in the run it measured.
func watchSent(ctx context.Context, pool *pgxpool.Pool, tenant uuid.UUID, on bool) *sentWatch {
	w := &sentWatch{pending: map[uuid.UUID]time.Time{}, early: map[uuid.UUID]time.Time{}, quit: make(chan struct{})}
	if !on {
		return w
	}
	w.wg.Go(func() {
		var after int64 // (last_seq, id) of the last row read
		var afterID uuid.UUID
		for {
			select {
			case <-w.quit:
				return
			case <-time.After(50 * time.Millisecond):
			}
			for {
				qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				rows, err := pool.Query(qctx, `SELECT id, last_seq, status IN ('sent', 'delivered', 'read', 'played') FROM messages
					WHERE tenant_id = $1 AND (last_seq, id) > ($2, $3) ORDER BY last_seq, id LIMIT 5000`, tenant, after, afterID)
				n := 0
				if err == nil {
					now := time.Now()
					w.mu.Lock()
					for rows.Next() {
						var id uuid.UUID
						var seq int64
						var sent bool
						if rows.Scan(&id, &seq, &sent) != nil {
							break
						}
						n++
						after, afterID = seq, id
						if !sent {
							continue
						}
						if at, ok := w.pending[id]; ok {
							w.took = append(w.took, now.Sub(at))
							delete(w.pending, id)
						} else if _, counted := w.early[id]; !counted {
							w.early[id] = now
						}
					}
					w.mu.Unlock()
					rows.Close()
				}
				cancel()
				if n < 5000 {
					break
				}
			}
		}
	})
	return w
}

// add watches message id, accepted at.
func (w *sentWatch) add(id uuid.UUID, at time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if seen, ok := w.early[id]; ok {
		w.took = append(w.took, max(0, seen.Sub(at)))
		return
	}
	w.pending[id] = at
}

func (w *sentWatch) done() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending) == 0
}

func (w *sentWatch) stop() {
	w.once.Do(func() { close(w.quit) })
	w.wg.Wait()
}

func (w *sentWatch) p99() float64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	slices.Sort(w.took)
	return percentileMs(w.took, 0.99)
}
