package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
)

const benchRebuildUsage = `Usage: wam bench rebuild [-n N] [--database-url URL]

Measures an online rebuild against the normal projector, on the same stream
in the same run. It starts a JetStream server of its own and uses a fresh
temporary database (as wam bench project does), stores N generated webhooks
of one tenant, projects them with the live inbox projector (timed), then,
with that projector still running, rebuilds every read model with wam's
rebuild (timed from the request to the swap), and checks that the read
models after the swap are those the live projector had made.

The last line of stdout is one JSON object:
  events                         webhooks in the stream (N)
  events_per_s                   the rebuild's events per second, swap included
  live_projection_events_per_s   the live projector's on the same stream
  ratio                          events_per_s / live_projection_events_per_s
  read_models_equal              the rebuilt read models equal the live ones

With --api-rate R above 0, an API server of the bench's own serves the
tenant's inbox and a probe reads it at R requests per second (the
conversation list, then a conversation's messages), for --api-before once
the live projector has caught up, then for the whole rebuild:
  api_p99_before_ms, api_p99_during_ms   p99 of those requests
  api_p99_ratio                  during / before
  api_requests_before, api_requests_during, api_errors

Flags:
`

// rebuildResult is the JSON line bench rebuild prints.
type rebuildResult struct {
	Events          int     `json:"events"`
	Seconds         float64 `json:"seconds"`
	EventsPerS      float64 `json:"events_per_s"`
	LiveSeconds     float64 `json:"live_projection_seconds"`
	LiveEventsPerS  float64 `json:"live_projection_events_per_s"`
	Ratio           float64 `json:"ratio"`
	ReadModelsEqual bool    `json:"read_models_equal"`

	APIRequestsBefore int     `json:"api_requests_before,omitempty"`
	APIP50BeforeMs    float64 `json:"api_p50_before_ms,omitempty"`
	APIP99BeforeMs    float64 `json:"api_p99_before_ms,omitempty"`
	APIRequestsDuring int     `json:"api_requests_during,omitempty"`
	APIP50DuringMs    float64 `json:"api_p50_during_ms,omitempty"`
	APIP99DuringMs    float64 `json:"api_p99_during_ms,omitempty"`
	APIP99Ratio       float64 `json:"api_p99_ratio,omitempty"`
	APIErrors         int     `json:"api_errors"`
}

// benchRebuild is `wam bench rebuild`: see benchRebuildUsage.
func benchRebuild(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o projectOptions
	fs := newFlagSet("bench rebuild", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchRebuildUsage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 20000, "`number` of webhooks in the stream")
	fs.StringVar(&o.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL `url` to create the temporary database in; empty starts a private PostgreSQL (DATABASE_URL)")
	fs.IntVar(&o.batch, "batch", 0, "most `events` the rebuild applies in one transaction; 0: its default")
	fs.IntVar(&o.senders, "senders", 250, "`number` of WhatsApp users the webhooks are spread over (one conversation each)")
	fs.IntVar(&o.publishers, "publishers", 32, "concurrent `publishes` while storing the webhooks (not timed)")
	fs.Int64Var(&o.seed, "seed", 1, "`seed` of the webhook generator")
	var p rebuildProbe
	fs.IntVar(&p.rate, "api-rate", 50, "API `requests` per second read during the bench (0: no API probe)")
	fs.DurationVar(&p.before, "api-before", 10*time.Second, "how long the API is read before the rebuild, for its baseline")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if o.n < 1 || o.senders < 1 || o.publishers < 1 || o.batch < 0 || p.rate < 0 || (p.rate > 0 && p.before <= 0) {
		return errors.New("-n, --senders and --publishers must be at least 1, --batch and --api-rate at least 0, --api-before positive")
	}
	o.stderr = stderr
	res, err := runRebuildBench(ctx, o, p)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

// rebuildProbe is how bench rebuild reads the API meanwhile.
type rebuildProbe struct {
	rate   int
	before time.Duration
}

func runRebuildBench(ctx context.Context, o projectOptions, rp rebuildProbe) (res rebuildResult, err error) {
	f, err := fillBench(ctx, o, "wam-bench-rebuild")
	if err != nil {
		return res, err
	}
	defer f.close()
	pool, js, lastSeq := f.pool, f.js, f.lastSeq
	res.Events = o.n

	logger := slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	live := projections.NewInbox(pool, js, logger, projections.Options{})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	defer func() {
		stop() // the live projector, before waiting for it
		wg.Wait()
	}()
	fmt.Fprintf(o.stderr, "rebuild: the live projector on %d stored webhooks\n", o.n)
	start := time.Now()
	wg.Go(func() {
		runErr = live.Run(runCtx)
		stop()
	})
	if err := live.WaitFor(runCtx, lastSeq); err != nil {
		return res, errors.Join(err, runErr)
	}
	liveTook := time.Since(start)
	res.LiveSeconds = math.Round(liveTook.Seconds()*1000) / 1000
	res.LiveEventsPerS = math.Round(float64(o.n)/liveTook.Seconds()*10) / 10
	fmt.Fprintf(o.stderr, "rebuild: live projector: %.0f events/s\n", res.LiveEventsPerS)
	before, err := rebuild.Checksum(ctx, pool)
	if err != nil {
		return res, err
	}

	var probe *apiProbe
	if rp.rate > 0 {
		// The baseline is the API of a database at rest: the vacuum and
		// statistics autovacuum would start after the load (for seconds,
		// on every table just filled) are done first.
		fmt.Fprintln(o.stderr, "rebuild: VACUUM ANALYZE, so that autovacuum does not run during the baseline")
		if _, err := pool.Exec(ctx, "VACUUM (ANALYZE)"); err != nil {
			return res, fmt.Errorf("vacuum: %w", err)
		}
		if probe, err = startAPIProbe(ctx, pool, js, f.tenant); err != nil {
			return res, err
		}
		defer probe.close()
		probeCtx, stopProbe := context.WithCancel(ctx)
		probed := make(chan struct{})
		go func() { probe.run(probeCtx, rp.rate, 8); close(probed) }()
		defer func() { stopProbe(); <-probed }()
		fmt.Fprintf(o.stderr, "rebuild: reading the API at %d requests/s for %s before the rebuild\n", rp.rate, rp.before)
		select {
		case <-time.After(rp.before):
		case <-ctx.Done():
			return res, ctx.Err()
		}
		b := probe.take()
		if b.requests == 0 {
			return res, fmt.Errorf("the API probe got no answer before the rebuild: %v", b.firstErr)
		}
		res.APIRequestsBefore, res.APIP50BeforeMs, res.APIP99BeforeMs, res.APIErrors = b.requests, b.p50, b.p99, b.errors
	}

	svc := rebuild.New(pool, js, rebuild.Options{Logger: logger, MaxBatch: o.batch})
	defer svc.Close()
	start = time.Now()
	job, err := svc.Run(ctx, rebuild.Request{Actor: "bench"}, func(j rebuild.Job) { fmt.Fprintln(o.stderr, progressLine(j)) })
	if err != nil {
		return res, err
	}
	took := time.Since(start)
	if probe != nil {
		d := probe.take()
		res.APIRequestsDuring, res.APIP50DuringMs, res.APIP99DuringMs = d.requests, d.p50, d.p99
		res.APIErrors += d.errors
		if res.APIP99BeforeMs > 0 {
			res.APIP99Ratio = math.Round(d.p99/res.APIP99BeforeMs*100) / 100
		}
		if d.firstErr != nil {
			fmt.Fprintf(o.stderr, "rebuild: API errors during the rebuild, the first: %v\n", d.firstErr)
		}
	}
	if job.EventsDone != uint64(o.n) {
		return res, fmt.Errorf("the rebuild applied %d events of %d", job.EventsDone, o.n)
	}
	res.Seconds = math.Round(took.Seconds()*1000) / 1000
	res.EventsPerS = math.Round(float64(o.n)/took.Seconds()*10) / 10
	res.Ratio = math.Round(res.EventsPerS/res.LiveEventsPerS*100) / 100
	after, err := rebuild.Checksum(ctx, pool)
	if err != nil {
		return res, err
	}
	res.ReadModelsEqual = after == before
	fmt.Fprintf(o.stderr, "rebuild: %d events in %.2fs: %.0f events/s, %.2f times the live projector\n", o.n, took.Seconds(), res.EventsPerS, res.Ratio)
	return res, nil
}
