package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/wam-project/wam/accounts"
	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/erasure"
	"github.com/wam-project/wam/ingest"
	"github.com/wam-project/wam/live"
	"github.com/wam-project/wam/media"
	"github.com/wam-project/wam/messaging"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/numbers"
	"github.com/wam-project/wam/ops"
	"github.com/wam-project/wam/projections"
	"github.com/wam-project/wam/rebuild"
	"github.com/wam-project/wam/sender"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/sql/migrations"
	"github.com/wam-project/wam/sql/pgserver"
	"github.com/wam-project/wam/streams"
	"github.com/wam-project/wam/supervisor"
	"github.com/wam-project/wam/templates"
	"github.com/wam-project/wam/ui"
)

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var cfg config
	fs := newFlagSet("serve", stderr)
	cfg.registerServe(fs, getenv)
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	log, err := cfg.logger(stderr)
	if err != nil {
		return err
	}
	if cfg.retentionErr != nil {
		return cfg.retentionErr
	}
	proxies, err := cfg.proxies()
	if err != nil {
		return err
	}
	started := time.Now()
	// The port first: demo mode's simulator sends its webhooks to it.
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(cfg.Port))
	if err != nil {
		return fmt.Errorf("listen on port %d: %w (set PORT or --port)", cfg.Port, err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	var dm *demo
	if cfg.Demo {
		if cfg.AppSecret == "" {
			cfg.AppSecret = demoAppSecret
		}
		if dm, err = startDemo(fmt.Sprintf("http://127.0.0.1:%d/api/webhook", port), cfg.AppSecret, cfg.DemoRate, log); err != nil {
			return err
		}
		defer dm.Close()
		cfg.MetaBaseURL = dm.url
		log.Info("demo mode: Meta's Graph API is simulated in this process", "graph_api", dm.url)
	}

	database, err := openDatabase(ctx, cfg, log, true)
	if err != nil {
		return err
	}
	defer database.Close()
	database.supervise(ctx)

	bus, err := openStream(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer bus.Close()
	bus.supervise(ctx, log)

	// Under a burst of webhooks (api.BurstRate and more) the projector
	// holds its batches back for up to 2 s, so that storing and
	// acknowledging webhooks gets the cores; it catches up in larger
	// batches after.
	load := api.NewLoad(api.BurstRate, time.Now)
	pub := streams.NewPublisher(bus.Publish...)
	// Erased contacts' tombstones, which the projector (and a rebuild's)
	// consult; reloaded every 10 s for erasures made by other processes.
	erasureKey, err := erasure.LoadKey(getenv("WAM_ERASURE_KEY"), cfg.DataDir)
	if err != nil {
		return err
	}
	eraser := erasure.New(database.Pool, bus.JS, bus.Media, pub, erasureKey, erasure.Options{Logger: log})
	if err := eraser.Load(ctx); err != nil {
		return fmt.Errorf("load the tombstones of erased contacts: %w", err)
	}
	inboxProjection := projections.Inbox{Erased: eraser.Erased}
	inbox := projections.NewRunner(database.Pool, bus.JS, inboxProjection, log, projections.Options{Busy: load.Busy})
	projCtx, stopProjectors := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := inbox.Run(projCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("inbox projector stopped", "err", err)
		}
	})
	// Every process runs a waker: their events are deduplicated.
	wg.Go(func() { projections.NewSnoozeWaker(database.Pool, pub, log, projections.SnoozeOptions{}).Run(projCtx) })
	wg.Go(func() { api.PurgeSessions(projCtx, database.Pool, log, time.Hour, time.Now) })
	wg.Go(func() { messaging.PurgeIdempotency(projCtx, database.Pool, log, time.Hour, time.Now) })
	wg.Go(func() { eraser.Run(projCtx, 10*time.Second) })

	if cfg.AppSecret == "" {
		log.Warn("META_APP_SECRET is not set: every webhook POST will be refused with 401")
	}
	key, err := auth.SigningKey(getenv("JWT_PRIVATE_KEY"), cfg.DataDir)
	if err != nil {
		stopProjectors()
		wg.Wait()
		return fmt.Errorf("access token signing key: %w", err)
	}
	keys, err := auth.LoadKeyRing(getenv("ENCRYPTION_KEY"), cfg.DataDir)
	if err != nil {
		stopProjectors()
		wg.Wait()
		return fmt.Errorf("credential encryption key: %w", err)
	}
	// Webhooks are routed, and those that could not be routed as they came
	// adopted, with one cache of owners and secrets.
	q := db.New(database.Pool)
	router := ingest.NewRouter(q, ingest.RouterOptions{Logger: log})
	secrets := ingest.NewSecrets(q, keys, ingest.RouterOptions{Logger: log})
	adopter := ingest.NewAdopter(q, bus.JS, pub, router, secrets, log, ingest.AdopterOptions{Checkpoint: inbox.Checkpoint})
	router.OnRecover(adopter.Nudge)
	wg.Go(func() { adopter.Run(projCtx) })

	graph := meta.NewClient(cfg.MetaBaseURL, cfg.MetaVersion)
	files := media.New(database.Pool, bus.Media, pub, graph, keys, media.Options{Logger: log, Live: bus.NC})
	wg.Go(func() { files.Run(projCtx) })
	send := sender.New(database.Pool, bus.JS, pub, graph, keys, files, sender.Options{
		Logger: log, SettleWait: cfg.SettleWait, PairInterval: cfg.PairInterval, PairBurst: cfg.PairBurst,
	})
	wg.Go(func() { send.Run(projCtx) })
	tmpl := templates.New(database.Pool, pub, graph, numbers.NewCredentials(q, keys), templates.Options{Logger: log})
	wg.Go(func() { tmpl.Run(projCtx) })

	// The operators' tools: replay jobs (their read model, and a worker
	// that runs them, paced and giving way to bursts of webhooks), parked
	// events, stats.
	tokens := auth.NewTokens(key, time.Now)
	jobs := projections.NewRunner(database.Pool, bus.JS, ops.JobsProjection{}, log, projections.Options{})
	wg.Go(func() {
		if err := jobs.Run(projCtx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("replay jobs projector stopped", "err", err)
		}
	})
	operators := ops.New(database.Pool, bus.JS, pub, ops.Options{Tokens: tokens, Projectors: []ops.Reprojector{inbox, jobs},
		Adopter: adopter, Sender: send, Busy: load.Busy, Rate: cfg.ReplayRate, Logger: log})
	wg.Go(func() { operators.Run(projCtx) })

	// Rebuilds started through the API run here, giving way to webhooks as
	// the live projector does; stopping serve fails them (and drops their
	// shadow tables).
	rebuilds := rebuild.New(database.Pool, bus.JS, rebuild.Options{Logger: log, Busy: load.Busy, Projection: inboxProjection})
	defer rebuilds.Close()
	reg := newRegistry(bus, inbox)
	reg.MustRegister(newOpsCollector(operators))
	// The live inbox: every serve process fans the projector's notices
	// out to its own WebSocket clients.
	hub := live.New(database.Pool, bus.NC, tokens, api.LiveEncoder(), live.Options{Logger: log})
	if err := hub.Start(); err != nil {
		stopProjectors()
		wg.Wait()
		return err
	}
	// API keys are looked up from memory while PostgreSQL tells of changes.
	apiKeys := accounts.NewKeyCache(database.Pool, log)
	wg.Go(func() { apiKeys.Run(projCtx) })
	handler := api.New(api.Config{Live: hub, APIKeys: apiKeys, AppSecret: cfg.AppSecret, VerifyToken: cfg.VerifyToken, FrontendURL: cfg.FrontendURL, TrustedProxies: proxies, Registry: reg, Load: load,
		Tokens: tokens, Keys: keys, Graph: graph, Ops: operators,
		Router: router, Secrets: secrets, NumbersChanged: adopter.Nudge,
		Templates: tmpl, NumberConnected: tmpl.Nudge, Media: files, Rebuilds: rebuilds, Erasure: eraser,
		SendChecks: messaging.Checks{Template: templates.CheckSend, Media: files.Check}},
		database.Pool, pub, log,
		api.Dependency{Name: "postgres", Ready: database.Ready},
		api.Dependency{Name: "nats", Ready: bus.Ready},
	)
	if cfg.DebugListen != "" {
		go serveDebug(cfg.DebugListen, log)
	}
	if dm != nil {
		made, err := dm.seed(ctx, database.Pool, keys, demoAccount{cfg.DemoEmail, cfg.DemoPassword}, auth.DefaultArgon2)
		if err != nil {
			stopProjectors()
			wg.Wait()
			return err
		}
		if made {
			log.Info("demo: made the demo tenant", "owner", cfg.DemoEmail, "agent", demoAgentEmail)
		}
	}
	// ReadTimeout bounds a whole request, body included: a client sending
	// its body a byte at a time must not hold a connection for ever. 30 s is
	// ample for Meta's largest webhooks (3 MiB).
	srv := &http.Server{Handler: ui.Handler(handler), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("wam serving", "url", fmt.Sprintf("http://localhost:%d", port),
		"webhook", fmt.Sprintf("http://localhost:%d/api/webhook", port),
		"ready_in", time.Since(started).Round(time.Millisecond).String())
	fmt.Fprintf(stdout, "wam serving on http://localhost:%d\n", port)
	if dm != nil {
		fmt.Fprintf(stdout, "demo: open http://localhost:%d and log in as %s / %s (agent: %s, same password); simulated customers are writing in\n",
			port, cfg.DemoEmail, cfg.DemoPassword, demoAgentEmail)
	}

	select {
	case <-ctx.Done():
	case err = <-httpErr:
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	// WebSockets first (1012: reconnect with since): the HTTP server's
	// shutdown does not wait for hijacked connections.
	hub.Close(shutCtx)
	if serr := srv.Shutdown(shutCtx); serr != nil {
		log.Error("http shutdown", "err", serr)
	}
	stopProjectors()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// newRegistry is the Prometheus registry /metrics serves: the Go runtime and
// process, the projector's progress, and (registered by api.New) HTTP.
func newRegistry(b *bus, runners ...*projections.Runner) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	lastSeq := func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := b.JS.Stream(ctx, streams.StreamName)
		if err != nil {
			return math.NaN()
		}
		return float64(st.CachedInfo().State.LastSeq)
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "wam_stream_last_sequence", Help: "Sequence of the newest event in the WAM stream.",
	}, lastSeq))
	for _, r := range runners {
		labels := prometheus.Labels{"projector": r.Name()}
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "wam_projector_checkpoint", Help: "Stream sequence the projector has applied up to.", ConstLabels: labels,
		}, func() float64 { cp, _ := r.Stats(); return float64(cp) }))
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "wam_projector_lag_events",
			Help:        "Events in the stream after the projector's checkpoint (an upper bound: not every event is the projector's).",
			ConstLabels: labels,
		}, func() float64 { cp, _ := r.Stats(); return max(0, lastSeq()-float64(cp)) }))
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "wam_projector_events_total", Help: "Events the projector applied since wam started; rate() is its throughput.", ConstLabels: labels,
		}, func() float64 { _, n := r.Stats(); return float64(n) }))
	}
	return reg
}

// serveDebug serves Go's profiler on its own listener, never on the public port.
func serveDebug(addr string, log *slog.Logger) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	log.Info("debug server", "url", "http://"+addr+"/debug/pprof/")
	srv := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	if err := srv.ListenAndServe(); err != nil {
		log.Error("debug server", "err", err)
	}
}

// database is wam's PostgreSQL: the one at DATABASE_URL or a private one.
type database struct {
	Pool    *pgxpool.Pool
	private *pgserver.Server
	stop    bool // stop the private server on Close
	log     *slog.Logger
	watch   *supervisor.Supervisor // of the private server, in serve
}

// openCommandDatabase opens the database for a one-shot command (tenant
// create, number add, keys rotate, user reset-password), logging to stderr.
func openCommandDatabase(ctx context.Context, cfg config, stderr io.Writer) (*database, error) {
	log, err := cfg.logger(stderr)
	if err != nil {
		return nil, err
	}
	return openDatabase(ctx, cfg, log, false)
}

// openDatabase connects to DATABASE_URL, or starts (or adopts) the private
// PostgreSQL in the data dir, and applies pending migrations. The private
// server is stopped on Close if owner is set (serve) or if this call
// started it (a CLI command run while no serve is running).
func openDatabase(ctx context.Context, cfg config, log *slog.Logger, owner bool) (*database, error) {
	d := &database{log: log}
	url := cfg.DatabaseURL
	if url == "" {
		// Readable by all: as root the server runs as the postgres user,
		// which must be able to enter the data dir.
		if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
		dir, err := filepath.Abs(filepath.Join(cfg.DataDir, "postgres"))
		if err != nil {
			return nil, err
		}
		if d.private, err = pgserver.Start(ctx, dir, pgserver.Options{Logger: log}); err != nil {
			return nil, fmt.Errorf("private PostgreSQL: %w", err)
		}
		d.stop = owner || !d.private.Adopted()
		if err := d.private.EnsureDatabase(ctx, "wam"); err != nil {
			d.Close()
			return nil, err
		}
		url = d.private.URL("wam")
	}
	pcfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("DATABASE_URL: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// pgx's default is the number of cores (4 at least): the API's
		// requests, the projector, the sender's lanes and the workers
		// queued for connections long before PostgreSQL was busy.
		pcfg.MaxConns = 32
	}
	if pcfg.ConnConfig.ConnectTimeout == 0 {
		// A server that accepts connections but does not answer (stopped,
		// overloaded) must not hold a caller without a deadline of its own.
		pcfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if d.Pool, err = pgxpool.NewWithConfig(ctx, pcfg); err != nil {
		d.Close()
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	if err := migrations.Up(ctx, d.Pool); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// Ready reports whether PostgreSQL answers and has every migration applied.
func (d *database) Ready(ctx context.Context) error {
	pending, err := migrations.Pending(ctx, d.Pool)
	if err != nil {
		return err
	}
	if pending {
		return errors.New("migrations pending")
	}
	return nil
}

// supervise starts the private server again whenever it stops, until Close.
func (d *database) supervise(ctx context.Context) {
	if d.private != nil {
		d.watch = d.private.Supervise(ctx, supervisor.Options{})
	}
}

func (d *database) Close() {
	if d.watch != nil {
		d.watch.Stop() // or it would start the server Close stops
	}
	if d.Pool != nil {
		d.Pool.Close()
	}
	if d.private != nil && d.stop {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := d.private.Stop(ctx); err != nil {
			d.log.Error("stop private PostgreSQL", "err", err)
		}
	}
}

// publishConns is how many NATS connections the webhook path publishes
// over. The server reads each connection in a single goroutine; with one,
// every webhook would queue behind the others there.
const publishConns = 4

// bus is wam's connection to JetStream, and the embedded server if wam runs it.
type bus struct {
	NC       *nats.Conn
	JS       jetstream.JetStream
	Publish  []jetstream.JetStream // JS and publishConns-1 more connections
	Media    jetstream.ObjectStore // the media files
	conns    []*nats.Conn
	embedded *streams.Embedded
	watch    *supervisor.Supervisor // of the embedded server, in serve
}

// openStream connects to NATS_URL, or starts NATS with JetStream in-process
// with its store in the data dir, and makes sure the WAM stream exists.
func openStream(ctx context.Context, cfg config, log *slog.Logger) (*bus, error) {
	b := &bus{}
	var err error
	if cfg.NatsURL == "" {
		dir := filepath.Join(cfg.DataDir, "nats")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create nats store: %w", err)
		}
		b.embedded, err = streams.StartEmbedded(streams.ServerOptions{StoreDir: dir, Listen: cfg.NatsListen, SyncAlways: cfg.SyncAlways})
		if err != nil {
			return nil, err
		}
		if cfg.NatsListen != "" {
			log.Info("embedded nats listening", "url", b.embedded.Server().ClientURL())
		}
	}
	for range publishConns {
		var nc *nats.Conn
		if b.embedded != nil {
			nc, err = streams.ConnectInProcess(b.embedded, "wam")
		} else {
			nc, err = streams.Connect(cfg.NatsURL, "wam")
		}
		if err != nil {
			b.Close()
			return nil, err
		}
		b.conns = append(b.conns, nc)
		js, err := jetstream.New(nc)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("jetstream: %w", err)
		}
		b.Publish = append(b.Publish, js)
	}
	b.NC, b.JS = b.conns[0], b.Publish[0]
	if _, err := streams.EnsureStream(ctx, b.JS, streams.StreamOptions{DuplicateWindow: cfg.DuplicateWindow, MaxAge: cfg.Retention}); err != nil {
		b.Close()
		return nil, err
	}
	if b.Media, err = streams.EnsureMediaStore(ctx, b.JS, 0); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Ready reports whether JetStream answers.
func (b *bus) Ready(ctx context.Context) error {
	_, err := b.JS.AccountInfo(ctx)
	return err
}

// supervise replaces the embedded server whenever it stops or loses
// JetStream, until Close.
func (b *bus) supervise(ctx context.Context, log *slog.Logger) {
	if b.embedded != nil {
		b.watch = b.embedded.Supervise(ctx, supervisor.Options{Logger: log})
	}
}

func (b *bus) Close() {
	if b.watch != nil {
		b.watch.Stop()
	}
	for _, nc := range b.conns {
		_ = nc.Drain()
		for nc.IsDraining() {
			time.Sleep(10 * time.Millisecond)
		}
		nc.Close()
	}
	if b.embedded != nil {
		b.embedded.Shutdown()
	}
}
