package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/migrations"
	"github.com/wam-project/wam/sql/pgserver"
	"github.com/wam-project/wam/streams"
)

const benchProjectUsage = `Usage: wam bench project [-n N] [--database-url URL] [--batch B]

Measures how fast the inbox projector turns stored webhooks into read models.
It starts a JetStream server of its own (in a temporary directory) and uses a
fresh temporary database: created in the PostgreSQL at --database-url (and
dropped afterwards), or in a private PostgreSQL it starts from the machine's
binaries when no URL is given. It stores N generated webhooks of one tenant
first, then starts the projector and times it until its checkpoint reaches
the last one.

The last line of stdout is one JSON object:
  events        webhooks projected (N)
  seconds       time from starting the projector to its checkpoint reaching the last event
  events_per_s  events / seconds
  messages      message rows in the read model afterwards (N when nothing was parked)
  parked        events the projector could not apply

Flags:
`

// projectOptions are the flags of bench project.
type projectOptions struct {
	n, batch, senders, publishers int
	databaseURL                   string
	seed                          int64
	stderr                        io.Writer
}

// projectResult is the JSON line bench project prints.
type projectResult struct {
	Events      int     `json:"events"`
	Seconds     float64 `json:"seconds"`
	EventsPerS  float64 `json:"events_per_s"`
	Messages    int64   `json:"messages"`
	Parked      int64   `json:"parked"`
	MeanBodyLen int     `json:"mean_body_bytes"`
}

// benchProject is `wam bench project`: see benchProjectUsage.
func benchProject(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o projectOptions
	fs := newFlagSet("bench project", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchProjectUsage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.n, "n", 10000, "`number` of webhooks to project")
	fs.StringVar(&o.databaseURL, "database-url", getenv("DATABASE_URL"), "PostgreSQL `url` to create the temporary database in; empty starts a private PostgreSQL (DATABASE_URL)")
	fs.IntVar(&o.batch, "batch", 0, "most `events` the projector applies in one transaction; 0: the projector's default")
	fs.IntVar(&o.senders, "senders", 250, "`number` of WhatsApp users the webhooks are spread over (one conversation each)")
	fs.IntVar(&o.publishers, "publishers", 32, "concurrent `publishes` while storing the webhooks (not timed)")
	fs.Int64Var(&o.seed, "seed", 1, "`seed` of the webhook generator")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if o.n < 1 || o.senders < 1 || o.publishers < 1 || o.batch < 0 {
		return errors.New("-n, --senders and --publishers must be at least 1, --batch at least 0")
	}
	o.stderr = stderr
	res, err := runProjectBench(ctx, o)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

func runProjectBench(ctx context.Context, o projectOptions) (res projectResult, err error) {
	f, err := fillBench(ctx, o, "wam-bench-project")
	if err != nil {
		return res, err
	}
	defer f.close()
	pool, js, lastSeq := f.pool, f.js, f.lastSeq
	res.Events, res.MeanBodyLen = o.n, f.meanLen

	logger := slog.New(slog.NewJSONHandler(o.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	inbox := projections.NewInbox(pool, js, logger, projections.Options{MaxBatch: o.batch})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var runErr error
	fmt.Fprintf(o.stderr, "project: starting the inbox projector on %d stored webhooks\n", o.n)
	start := time.Now()
	wg.Go(func() {
		runErr = inbox.Run(runCtx)
		stop() // a projector that could not start must not leave WaitFor waiting
	})
	stopProgress := progress(o.stderr, time.Second, func(elapsed time.Duration) string {
		cp, err := inbox.Checkpoint(ctx)
		if err != nil {
			return "project: " + err.Error()
		}
		return fmt.Sprintf("project: checkpoint %d/%d after %.1fs", cp, lastSeq, elapsed.Seconds())
	})
	waitErr := inbox.WaitFor(runCtx, lastSeq)
	elapsed := time.Since(start)
	stopProgress()
	stop()
	wg.Wait()
	switch {
	case runErr != nil:
		return res, fmt.Errorf("inbox projector: %w", runErr)
	case waitErr != nil:
		return res, waitErr
	}
	// The figure is only claimed once PostgreSQL says so too.
	if cp, err := inbox.Checkpoint(ctx); err != nil || cp < lastSeq {
		return res, fmt.Errorf("projector stopped at checkpoint %d of %d (%v)", cp, lastSeq, err)
	}
	res.Seconds = math.Round(elapsed.Seconds()*1000) / 1000
	res.EventsPerS = math.Round(float64(o.n)/elapsed.Seconds()*10) / 10
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM messages").Scan(&res.Messages); err != nil {
		return res, err
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM parked_events").Scan(&res.Parked); err != nil {
		return res, err
	}
	fmt.Fprintf(o.stderr, "project: %d events in %.2fs: %.0f events/s (%d message rows, %d parked)\n",
		o.n, elapsed.Seconds(), float64(o.n)/elapsed.Seconds(), res.Messages, res.Parked)
	return res, nil
}

// fillStream stores n generated webhooks of tenant the way wam's webhook
// handler does, from o.publishers goroutines, and returns the highest stream
// sequence and the mean body size. Publishing is not what is measured, so
// the bodies are generated in order (the generator is not concurrent) and
// handed to the publishers.
func fillStream(ctx context.Context, o projectOptions, js jetstream.JetStream, tenant string, g *meta.WebhookGen) (uint64, int, error) {
	fmt.Fprintf(o.stderr, "project: storing %d webhooks for tenant %s\n", o.n, tenant)
	pub := streams.NewPublisher(js)
	bodies := make(chan []byte, 4*o.publishers)
	var (
		lastSeq, done, total atomic.Int64
		firstErr             error
		once                 sync.Once
		wg                   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopProgress := progress(o.stderr, time.Second, func(time.Duration) string {
		return fmt.Sprintf("project: %d/%d webhooks stored", done.Load(), o.n)
	})
	for range o.publishers {
		wg.Go(func() {
			for body := range bodies {
				seq, err := pub.Publish(ctx, streams.Event{
					Tenant: tenant, Type: streams.TypeWebhookMeta, Data: body,
					RequestID: uuid.NewString(), Actor: "meta",
				})
				if err != nil {
					once.Do(func() { firstErr = err; cancel() })
					continue
				}
				for {
					cur := lastSeq.Load()
					if int64(seq) <= cur || lastSeq.CompareAndSwap(cur, int64(seq)) {
						break
					}
				}
				done.Add(1)
			}
		})
	}
	// Reactions, replies and statuses of one user arrive in generation
	// order only roughly, as Meta's do: webhooks are delivered unordered.
	for i := 0; i < o.n && ctx.Err() == nil; i++ {
		body, _, _ := g.Next()
		total.Add(int64(len(body)))
		select {
		case bodies <- body:
		case <-ctx.Done():
		}
	}
	close(bodies)
	wg.Wait()
	stopProgress()
	if firstErr != nil {
		return 0, 0, fmt.Errorf("store webhooks: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return 0, 0, err
	}
	if int(done.Load()) != o.n {
		return 0, 0, fmt.Errorf("stored %d webhooks of %d", done.Load(), o.n)
	}
	return uint64(lastSeq.Load()), int(total.Load()) / o.n, nil
}

// benchDatabase returns a pool on a new, migrated database that is removed
// by the returned close: a temporary database in the server at
// o.databaseURL, or the only database of a private server started in dir.
func benchDatabase(ctx context.Context, o projectOptions, dir string) (*pgxpool.Pool, func(), error) {
	var (
		cfg     *pgxpool.Config
		cleanup []func()
		err     error
	)
	closeAll := func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	if o.databaseURL != "" {
		admin, err := pgx.Connect(ctx, o.databaseURL)
		if err != nil {
			return nil, nil, fmt.Errorf("connect to --database-url: %w", err)
		}
		defer admin.Close(context.Background())
		suffix := make([]byte, 6)
		rand.Read(suffix)
		name := "wam_bench_" + hex.EncodeToString(suffix)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return nil, nil, fmt.Errorf("create temporary database (the role needs CREATEDB): %w", err)
		}
		fmt.Fprintf(o.stderr, "project: using temporary database %s\n", name)
		adminURL := o.databaseURL
		cleanup = append(cleanup, func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			conn, err := pgx.Connect(ctx, adminURL)
			if err == nil {
				_, err = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
				conn.Close(ctx)
			}
			if err != nil {
				fmt.Fprintf(o.stderr, "project: could not drop temporary database %s: %v\n", name, err)
			}
		})
		if cfg, err = pgxpool.ParseConfig(o.databaseURL); err != nil {
			closeAll()
			return nil, nil, fmt.Errorf("--database-url: %w", err)
		}
		cfg.ConnConfig.Database = name
	} else {
		// As root the server runs as user postgres, which must pass through
		// the temporary directory (MkdirTemp makes it 0700).
		if os.Geteuid() == 0 {
			if err := os.Chmod(dir, 0o711); err != nil {
				return nil, nil, err
			}
		}
		fmt.Fprintln(o.stderr, "project: starting a private PostgreSQL")
		srv, err := pgserver.Start(ctx, filepath.Join(dir, "postgres"), pgserver.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("private PostgreSQL (or pass --database-url): %w", err)
		}
		cleanup = append(cleanup, func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := srv.Stop(ctx); err != nil {
				fmt.Fprintf(o.stderr, "project: %v\n", err)
			}
		})
		if err := srv.EnsureDatabase(ctx, "wam"); err != nil {
			closeAll()
			return nil, nil, err
		}
		if cfg, err = pgxpool.ParseConfig(srv.URL("wam")); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		closeAll()
		return nil, nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	cleanup = append(cleanup, pool.Close)
	if err := migrations.Up(ctx, pool); err != nil {
		closeAll()
		return nil, nil, err
	}
	return pool, closeAll, nil
}

// filled is a benchmark's temporary database and JetStream server, with a
// stream of o.n generated webhooks of one tenant.
type filled struct {
	pool    *pgxpool.Pool
	js      jetstream.JetStream
	tenant  uuid.UUID
	lastSeq uint64
	meanLen int
	close   func()
}

// fillBench makes what benchmarks of projection start from: a temporary
// database (benchDatabase) with a tenant and its number, a JetStream
// server of its own, and o.n webhooks stored (fillStream).
func fillBench(ctx context.Context, o projectOptions, name string) (f filled, err error) {
	var cleanup []func()
	f.close = func() {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
	}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	tmp, err := os.MkdirTemp("", name+"-")
	if err != nil {
		return f, err
	}
	cleanup = append(cleanup, func() { os.RemoveAll(tmp) })
	pool, closeDB, err := benchDatabase(ctx, o, tmp)
	if err != nil {
		return f, err
	}
	cleanup = append(cleanup, closeDB)
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: filepath.Join(tmp, "nats")})
	if err != nil {
		return f, err
	}
	cleanup = append(cleanup, func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	})
	nc, err := streams.ConnectInProcess(ns, name)
	if err != nil {
		return f, err
	}
	cleanup = append(cleanup, nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		return f, fmt.Errorf("jetstream: %w", err)
	}
	if _, err := streams.EnsureStream(ctx, js, streams.StreamOptions{}); err != nil {
		return f, err
	}
	const pnid, display, waba = "106540352242922", "+1 555-078-3881", "102290129340398"
	q := db.New(pool)
	tenant, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "bench"})
	if err != nil {
		return f, fmt.Errorf("create tenant: %w", err)
	}
	if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{
		ID: uuid.New(), TenantID: tenant.ID, PhoneNumberID: pnid, DisplayPhoneNumber: "+15550783881", WabaID: waba,
	}); err != nil {
		return f, fmt.Errorf("add phone number: %w", err)
	}
	g := meta.NewWebhookGen(pnid, display, waba, o.seed).WithSenders(o.senders)
	if f.lastSeq, f.meanLen, err = fillStream(ctx, o, js, tenant.ID.String(), g); err != nil {
		return f, err
	}
	f.pool, f.js, f.tenant = pool, js, tenant.ID
	return f, nil
}
