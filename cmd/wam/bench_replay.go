package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

const benchReplayUsage = `Usage: wam bench replay [-n N] [--rate R] [--database-url URL]

Measures what a replay costs live webhooks. In one process, as wam serve runs
them: a JetStream server and a fresh database of its own, the HTTP API, the
inbox projector, the replay jobs' projector and the replay worker (paced by
--replay-rate, giving way to bursts). It stores N webhooks of one tenant and
projects them; then it posts signed webhooks at R per second over keep-alive
connections, first for --baseline without a replay, then while a reproject
replay of the N events runs, and times each webhook's answer (its ack).

The last line of stdout is one JSON object:
  events                 events replayed (N)
  replay_seconds         from the request to the job's end
  replay_events_per_s    events / replay_seconds
  webhook_rate           webhooks per second posted (R)
  webhooks               webhooks answered 200 during the replay
  webhooks_per_s         the rate achieved (below R when answers are slow)
  ack_p50_ms, ack_p99_ms, ack_max_ms   their answer times during the replay
  baseline_p99_ms        p99 of the answers without a replay

Flags:
`

type replayBenchResult struct {
	Events        int     `json:"events"`
	ReplaySeconds float64 `json:"replay_seconds"`
	EventsPerS    float64 `json:"replay_events_per_s"`
	WebhookRate   int     `json:"webhook_rate"`
	Webhooks      int     `json:"webhooks"`
	Achieved      float64 `json:"webhooks_per_s"`
	AckP50        float64 `json:"ack_p50_ms"`
	AckP99        float64 `json:"ack_p99_ms"`
	AckMax        float64 `json:"ack_max_ms"`
	BaselineP99   float64 `json:"baseline_p99_ms"`
	Failed        int     `json:"failed"`
}

// benchReplay is `wam bench replay`: see benchReplayUsage.
func benchReplay(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o projectOptions
	fs := newFlagSet("bench replay", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchReplayUsage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 100000, "`number` of stored webhooks the replay re-projects")
	fs.StringVar(&o.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL `url` to create the temporary database in; empty starts a private PostgreSQL (DATABASE_URL)")
	rate := fs.Int("rate", 1000, "live webhooks per `second` during the replay")
	replayRate := fs.Float64("replay-rate", 2000, "the replay's pace, `events` per second (wam serve's --replay-rate)")
	baseline := fs.Duration("baseline", 10*time.Second, "how long to post without a replay first")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	o.senders, o.publishers, o.seed, o.stderr = 250, 32, 1, stderr
	res, err := runReplayBench(ctx, o, *rate, *replayRate, *baseline)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

func runReplayBench(ctx context.Context, o projectOptions, rate int, replayRate float64, baseline time.Duration) (res replayBenchResult, err error) {
	tmp, err := os.MkdirTemp("", "wam-bench-replay-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(tmp)
	pool, closeDB, err := benchDatabase(ctx, o, tmp)
	if err != nil {
		return res, err
	}
	defer closeDB()
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: filepath.Join(tmp, "nats")})
	if err != nil {
		return res, err
	}
	defer func() { ns.Shutdown(); ns.WaitForShutdown() }()
	var conns []jetstream.JetStream
	for range publishConns {
		nc, err := streams.ConnectInProcess(ns, "wam-bench-replay")
		if err != nil {
			return res, err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return res, err
		}
		conns = append(conns, js)
	}
	js := conns[0]
	if _, err := streams.EnsureStream(ctx, js, streams.StreamOptions{}); err != nil {
		return res, err
	}
	const pnid, display, waba, secret = "106540352242922", "+1 555-078-3881", "102290129340398", "bench-replay-secret"
	q := db.New(pool)
	tenant, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "bench"})
	if err != nil {
		return res, err
	}
	if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: tenant.ID, PhoneNumberID: pnid,
		DisplayPhoneNumber: "+15550783881", WabaID: waba}); err != nil {
		return res, err
	}
	lastSeq, _, err := fillStream(ctx, o, js, tenant.ID.String(), meta.NewWebhookGen(pnid, display, waba, o.seed).WithSenders(o.senders))
	if err != nil {
		return res, err
	}

	logger := slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	load := api.NewLoad(api.BurstRate, time.Now)
	pub := streams.NewPublisher(conns...)
	inbox := projections.NewInbox(pool, js, logger, projections.Options{Busy: load.Busy})
	jobs := projections.NewRunner(pool, js, ops.JobsProjection{}, logger, projections.Options{})
	svc := ops.New(pool, js, pub, ops.Options{Projectors: []ops.Reprojector{inbox}, Busy: load.Busy, Rate: replayRate, Logger: logger})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	wg.Go(func() { _ = inbox.Run(runCtx) })
	wg.Go(func() { _ = jobs.Run(runCtx) })
	wg.Go(func() { svc.Run(runCtx) })
	fmt.Fprintf(o.stderr, "replay: projecting %d stored webhooks\n", o.n)
	if err := inbox.WaitFor(runCtx, lastSeq); err != nil {
		return res, err
	}

	h := api.New(api.Config{AppSecret: secret, Load: load, Ops: svc}, pool, pub, logger)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	base := "http://" + ln.Addr().String()
	live := meta.NewWebhookGen(pnid, display, waba, 2).WithSenders(o.senders)
	var genMu sync.Mutex
	next := func() []byte {
		genMu.Lock()
		defer genMu.Unlock()
		b, _, _ := live.Next()
		return b
	}

	fmt.Fprintf(o.stderr, "replay: %d webhooks/s for %s without a replay\n", rate, baseline)
	before, failed, err := postAtRate(runCtx, base, secret, rate, next, func() bool { return false }, time.Now().Add(baseline))
	if err != nil {
		return res, err
	}
	res.BaselineP99 = percentileMs(before, 0.99)

	start := time.Now()
	job, err := svc.RequestReplay(ctx, ops.Actor{CLI: true}, ops.ReplayRequest{Mode: ops.ModeReproject, Filter: ops.Filter{ToSeq: lastSeq}})
	if err != nil {
		return res, err
	}
	fmt.Fprintf(o.stderr, "replay: job %s, %d events, %d webhooks/s meanwhile\n", job.ID, job.Matched, rate)
	var final ops.Job
	ended := func() bool {
		j, err := svc.GetReplay(ctx, ops.Actor{CLI: true}, job.ID)
		if err == nil {
			final = j
		}
		return err == nil && j.State != ops.StateRequested && j.State != ops.StateRunning
	}
	during, failedDuring, err := postAtRate(runCtx, base, secret, rate, next, ended, time.Now().Add(time.Hour))
	if err != nil {
		return res, err
	}
	elapsed := time.Since(start)
	if final.State != ops.StateFinished {
		return res, fmt.Errorf("the replay ended %s: %s", final.State, final.Error)
	}
	res.Events, res.WebhookRate, res.Webhooks, res.Failed = int(final.Done), rate, len(during), failed+failedDuring
	res.ReplaySeconds = round3(elapsed.Seconds())
	res.Achieved = round1(float64(len(during)) / elapsed.Seconds())
	res.EventsPerS = math.Round(float64(final.Done) / elapsed.Seconds())
	res.AckP50, res.AckP99 = percentileMs(during, 0.50), percentileMs(during, 0.99)
	if len(during) > 0 {
		res.AckMax = round1(float64(during[len(during)-1]) / float64(time.Millisecond))
	}
	return res, nil
}

// postAtRate posts signed webhooks at rate per second over 32 keep-alive
// connections until done() or the deadline, and returns their answer times
// sorted and how many were not answered 200.
func postAtRate(ctx context.Context, base, secret string, rate int, next func() []byte, done func() bool, deadline time.Time) ([]time.Duration, int, error) {
	// Each connection waits for its answer: enough of them that slow
	// answers do not lower the rate.
	const conns = 32
	var mu sync.Mutex
	var lat []time.Duration
	failed := 0
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	for range conns {
		p, err := newPoster(base, 10*time.Second)
		if err != nil {
			return nil, 0, err
		}
		wg.Go(func() {
			defer p.close()
			tick := time.NewTicker(time.Second * conns / time.Duration(rate))
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				body := next()
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write(body)
				t := time.Now()
				status, _, err := p.post("/api/webhook", "sha256="+hex.EncodeToString(mac.Sum(nil)), body)
				d := time.Since(t)
				mu.Lock()
				switch {
				case err != nil && firstErr == nil && ctx.Err() == nil:
					firstErr = err
				case status != http.StatusOK:
					failed++
				default:
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		})
	}
	for !done() && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	wg.Wait()
	if firstErr != nil {
		return nil, 0, errors.Join(errors.New("post webhooks"), firstErr)
	}
	slices.Sort(lat)
	return lat, failed, nil
}
