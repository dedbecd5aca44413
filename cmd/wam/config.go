package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"
)

// config is what serve and the operator commands share. Every setting has an
// environment variable; a flag given on the command line wins over it.
type config struct {
	Port            int
	DataDir         string
	NatsURL         string
	NatsListen      string
	DatabaseURL     string
	AppSecret       string
	VerifyToken     string
	LogLevel        string
	SyncAlways      bool
	DuplicateWindow time.Duration
	DebugListen     string
	FrontendURL     string
	TrustedProxies  string
	MetaBaseURL     string
	MetaVersion     string
	Demo            bool
	DemoEmail       string
	DemoPassword    string
	DemoRate        float64
	SettleWait      time.Duration
	PairInterval    time.Duration
	PairBurst       int
	ReplayRate      float64
	// Retention is WAM_RETENTION, serve's only: the most age of an event
	// the stream keeps; 0 keeps everything. Other commands leave the
	// stream's as it is (-1).
	Retention    time.Duration
	retentionErr error // of WAM_RETENTION, reported by serve
}

func (c *config) register(fs *flag.FlagSet, getenv func(string) string) {
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs.StringVar(&c.DataDir, "data-dir", env("WAM_DATA_DIR", "./data"), "`dir`ectory for the embedded NATS store and private PostgreSQL (WAM_DATA_DIR)")
	fs.StringVar(&c.NatsURL, "nats-url", env("NATS_URL", ""), "NATS server `url`; empty runs NATS with JetStream inside wam (NATS_URL)")
	fs.StringVar(&c.NatsListen, "nats-listen", env("WAM_NATS_LISTEN", ""), "`host:port` on which the embedded NATS accepts clients; empty: no TCP port (WAM_NATS_LISTEN)")
	fs.StringVar(&c.DatabaseURL, "database-url", env("DATABASE_URL", ""), "PostgreSQL `url`; empty runs a private PostgreSQL in the data dir (DATABASE_URL)")
	fs.StringVar(&c.LogLevel, "log-level", env("LOG_LEVEL", "info"), "debug, info, warn or error (LOG_LEVEL)")
	c.Retention = -1
}

// parseRetention reads WAM_RETENTION: a Go duration or a number of days
// ("90d"); empty or 0 keeps everything. Less than an hour is refused: it
// would be shorter than JetStream's duplicate window allows, and is
// surely a mistake.
func parseRetention(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" || v == "0" {
		return 0, nil
	}
	var d time.Duration
	var err error
	if days, ok := strings.CutSuffix(v, "d"); ok {
		var n int
		n, err = strconv.Atoi(days)
		d = time.Duration(n) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(v)
	}
	if err != nil || d < time.Hour {
		return 0, fmt.Errorf("WAM_RETENTION %q: give an age of at least an hour, such as 90d or 2160h, or 0 to keep everything", v)
	}
	return d, nil
}

func (c *config) registerServe(fs *flag.FlagSet, getenv func(string) string) {
	c.register(fs, getenv)
	fs.Func("retention", "the most `age` of an event the stream keeps, such as 90d or 2160h; empty or 0 keeps everything. Replay and rebuild see only what is kept (WAM_RETENTION)", func(v string) error {
		d, err := parseRetention(v)
		c.Retention, c.retentionErr = d, nil
		return err
	})
	c.Retention, c.retentionErr = parseRetention(getenv("WAM_RETENTION"))
	port, _ := strconv.Atoi(getenv("PORT"))
	if port == 0 {
		port = 3000
	}
	dup, _ := time.ParseDuration(getenv("WAM_DUPLICATE_WINDOW"))
	fs.IntVar(&c.Port, "port", port, "HTTP `port` (PORT)")
	fs.StringVar(&c.AppSecret, "meta-app-secret", getenv("META_APP_SECRET"), "Meta app `secret` that signs webhooks (META_APP_SECRET)")
	fs.StringVar(&c.VerifyToken, "webhook-verify-token", getenv("WEBHOOK_VERIFY_TOKEN"), "`token` Meta sends to verify the webhook subscription (WEBHOOK_VERIFY_TOKEN)")
	fs.BoolVar(&c.SyncAlways, "sync-always", getenv("WAM_SYNC_ALWAYS") == "true", "fsync every event before acknowledging it, to survive power loss (WAM_SYNC_ALWAYS)")
	fs.DurationVar(&c.DuplicateWindow, "duplicate-window", dup, "JetStream duplicate window; 0: 2m (WAM_DUPLICATE_WINDOW)")
	fs.StringVar(&c.MetaBaseURL, "meta-api-base-url", or(getenv("META_API_BASE_URL"), "https://graph.facebook.com"), "Meta Graph API `url` (META_API_BASE_URL)")
	fs.StringVar(&c.MetaVersion, "meta-api-version", or(getenv("META_API_VERSION"), "v23.0"), "Graph API `version` (META_API_VERSION)")
	fs.BoolVar(&c.Demo, "demo", getenv("WAM_DEMO") == "true", "demo mode: Meta is a simulator in this process, whose customers write in, and a demo tenant is made once per data dir (WAM_DEMO)")
	fs.StringVar(&c.DemoEmail, "demo-email", or(getenv("WAM_DEMO_EMAIL"), "demo@wam.local"), "the demo owner's `email` (WAM_DEMO_EMAIL)")
	fs.StringVar(&c.DemoPassword, "demo-password", or(getenv("WAM_DEMO_PASSWORD"), "wam-demo"), "the demo owner's and agent's `password` (WAM_DEMO_PASSWORD)")
	demoRate, _ := strconv.ParseFloat(getenv("WAM_DEMO_RATE"), 64)
	if demoRate == 0 {
		demoRate = 0.2
	}
	fs.Float64Var(&c.DemoRate, "demo-rate", demoRate, "messages per `second` the demo's simulated customers write, in all (WAM_DEMO_RATE)")
	settle, _ := time.ParseDuration(getenv("WAM_SEND_SETTLE_WAIT"))
	pair, _ := time.ParseDuration(getenv("WAM_PAIR_INTERVAL"))
	burst, _ := strconv.Atoi(getenv("WAM_PAIR_BURST"))
	fs.DurationVar(&c.SettleWait, "send-settle-wait", settle, "how long a send attempted without a known outcome (a crash, a timeout) waits for a status webhook before it is sent again; 0: 1m (WAM_SEND_SETTLE_WAIT)")
	fs.DurationVar(&c.PairInterval, "pair-interval", pair, "one message to the same recipient from a number per this interval, after --pair-burst; 0: 6s, Meta's pair rate (WAM_PAIR_INTERVAL)")
	fs.IntVar(&c.PairBurst, "pair-burst", burst, "messages to the same recipient at once before --pair-interval applies; 0: 45 (WAM_PAIR_BURST)")
	replayRate, _ := strconv.ParseFloat(getenv("WAM_REPLAY_RATE"), 64)
	fs.Float64Var(&c.ReplayRate, "replay-rate", replayRate, "at most this many `events` per second re-projected by replay jobs (they also wait during bursts of webhooks); 0: 2000 (WAM_REPLAY_RATE)")
	fs.StringVar(&c.FrontendURL, "frontend-url", getenv("FRONTEND_URL"), "the one browser `origin` allowed to call the API cross-origin (CORS); empty: same origin only (FRONTEND_URL)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", getenv("WAM_TRUSTED_PROXIES"), "comma-separated `networks` (CIDR) of reverse proxies whose X-Forwarded-For names the client; empty: the client is the connection's peer (WAM_TRUSTED_PROXIES)")
	fs.StringVar(&c.DebugListen, "debug-listen", getenv("WAM_DEBUG_LISTEN"), "`host:port` serving Go's /debug/pprof profiles, for operators; keep it private (WAM_DEBUG_LISTEN)")
}

// proxies parses TrustedProxies.
func (c *config) proxies() ([]*net.IPNet, error) {
	var out []*net.IPNet
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		_, n, err := net.ParseCIDR(s)
		if err != nil {
			return nil, fmt.Errorf("WAM_TRUSTED_PROXIES: %q is not a network such as 10.0.0.0/8: %w", s, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *config) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		return nil, fmt.Errorf("LOG_LEVEL %q: use debug, info, warn or error", c.LogLevel)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})), nil
}

// or is a unless it is empty, then b.
func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
