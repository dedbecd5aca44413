package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
	"github.com/google/uuid"
	"golang.org/x/sync/errgroup"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
)

const benchLiveUsage = `Usage: wam bench live [--clients N] [--tenants T] [--rate R] [--duration D]

Measures the live inbox end to end in one process: a wam serve of its own
(fresh data dir, private PostgreSQL unless DATABASE_URL names one), T
tenants with a number each and N WebSocket clients spread over them (one
user each), signed webhooks POSTed at R per second, each one inbound text
message of one tenant, and the time from the POST to the message.created
event at each client of that tenant. After D of steady load every client's
connection is dropped at once and each reconnects with the last sequence it
saw, while the webhooks go on for another D; then the posting stops and
every client must have every message of its tenant exactly once.

The last line of stdout is one JSON object:
  clients        WebSocket clients
  events         message events received (live and by resume), all clients
  p50_ms, p99_ms POST to live event at a client, during the steady phase
  p99_reconnect_phase_ms  the same during the phase with the reconnect
  missed         (client, message of its tenant) pairs never received
  duplicated     events received twice by one client (same row and seq)
  cross_tenant   events of another tenant's rows
and webhooks (acked), rate_per_s (acked per second), resumed (events sent
by resumes), reconnect_s (from the drop until every client was synced).

Flags:
`

type liveBenchResult struct {
	Clients       int     `json:"clients"`
	Events        int     `json:"events"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	P99ReconnMs   float64 `json:"p99_reconnect_phase_ms"`
	Missed        int     `json:"missed"`
	Duplicated    int     `json:"duplicated"`
	CrossTenant   int     `json:"cross_tenant"`
	Webhooks      int     `json:"webhooks"`
	RatePerS      float64 `json:"rate_per_s"`
	Resumed       int     `json:"resumed"`
	ReconnectS    float64 `json:"reconnect_s"`
	Tenants       int     `json:"tenants"`
	TargetRatePer int     `json:"target_rate_per_s"`
}

type liveOptions struct {
	clients, tenants, rate, senders int
	duration, settle                time.Duration
	stderr                          io.Writer
}

// benchLive is `wam bench live`: see benchLiveUsage.
func benchLive(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	o := liveOptions{stderr: stderr}
	fs := newFlagSet("bench live", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchLiveUsage)
		fs.PrintDefaults()
	}
	fs.IntVar(&o.clients, "clients", 500, "`count` of WebSocket clients")
	fs.IntVar(&o.tenants, "tenants", 50, "`count` of tenants the clients are spread over")
	fs.IntVar(&o.rate, "rate", 2000, "webhooks per `second`")
	fs.IntVar(&o.senders, "senders", 64, "`connections` posting webhooks")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "`length` of the steady phase, and of the phase with the reconnect")
	fs.DurationVar(&o.settle, "settle", 60*time.Second, "how long to wait, after posting, for every client to have every message")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	if o.clients < 1 || o.tenants < 1 || o.tenants > o.clients || o.rate < 1 || o.senders < 1 || o.duration <= 0 {
		return errors.New("--clients, --tenants (at most --clients), --rate, --senders and --duration must be positive")
	}
	res, err := runLiveBench(ctx, getenv, o)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(res)
	fmt.Fprintln(stdout, string(b))
	return nil
}

// liveClient is one WebSocket client of the bench and what it received.
type liveClient struct {
	tenant int
	token  string
	conn   *websocket.Conn

	mu      sync.Mutex
	highest int64
	rows    map[rowKey]bool // every event
	got     map[int]bool    // webhooks whose message arrived
	lat     [2][]time.Duration
	dups    int
	cross   int
	resumed int
	events  int
}

type liveBench struct {
	o       liveOptions
	base    string
	pnids   []string
	pnidOf  map[string]int
	sentAt  []atomic.Int64 // unix nanos of each webhook's POST
	acked   []atomic.Bool
	phase   atomic.Int32 // 0 steady, 1 reconnect phase
	clients []*liveClient
}

func runLiveBench(ctx context.Context, getenv func(string) string, o liveOptions) (liveBenchResult, error) {
	res := liveBenchResult{Clients: o.clients, Tenants: o.tenants, TargetRatePer: o.rate}
	dir, err := os.MkdirTemp("", "wam-bench-live-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg := config{DataDir: dir, DatabaseURL: getenv("DATABASE_URL"), LogLevel: "error"}
	log, _ := cfg.logger(o.stderr)
	database, err := openDatabase(ctx, cfg, log, true)
	if err != nil {
		return res, err
	}
	defer database.Close()
	key, err := auth.SigningKey("", dir) // the key serve signs with, from the same data dir
	if err != nil {
		return res, err
	}
	tokens := auth.NewTokens(key, time.Now)
	b := &liveBench{o: o, pnidOf: map[string]int{}}
	if err := b.seed(ctx, database, tokens); err != nil {
		return res, err
	}

	port, err := freePort()
	if err != nil {
		return res, err
	}
	b.base = "http://127.0.0.1:" + strconv.Itoa(port)
	const secret = "bench-live-app-secret"
	env := map[string]string{"DATABASE_URL": database.Pool.Config().ConnString(), "WAM_DATA_DIR": dir, "META_APP_SECRET": secret,
		"META_API_BASE_URL": "http://127.0.0.1:1", "LOG_LEVEL": "error", "WAM_DEBUG_LISTEN": getenv("WAM_DEBUG_LISTEN")}
	serveCtx, stopServe := context.WithCancel(ctx)
	served := make(chan error, 1)
	pr, pw := io.Pipe()
	urls := serving(pr)
	go func() {
		served <- run(serveCtx, []string{"wam", "serve", "--port", strconv.Itoa(port)}, func(k string) string { return env[k] }, pw, o.stderr)
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

	fmt.Fprintf(o.stderr, "bench live: connecting %d clients over %d tenants\n", o.clients, o.tenants)
	if err := b.connectAll(ctx); err != nil {
		return res, err
	}
	total := 2 * int(o.duration.Seconds()*float64(o.rate))
	b.sentAt = make([]atomic.Int64, total)
	b.acked = make([]atomic.Bool, total)
	fmt.Fprintf(o.stderr, "bench live: %d webhooks/s for %s, then every client reconnects while %s more go on\n", o.rate, o.duration, o.duration)

	posted := make(chan error, 1)
	start := time.Now()
	go func() { posted <- b.post(ctx, secret, start, total) }()
	select {
	case <-time.After(o.duration):
	case err := <-posted:
		return res, fmt.Errorf("posting: %v", err)
	}
	// The forced reconnect: every connection dropped at once, as a network
	// outage or a proxy restart would, then each client back with since.
	b.phase.Store(1)
	dropped := time.Now()
	for _, c := range b.clients {
		_ = c.conn.CloseNow()
	}
	if err := b.connectAll(ctx); err != nil {
		return res, err
	}
	res.ReconnectS = round3(time.Since(dropped).Seconds())
	if err := <-posted; err != nil {
		return res, fmt.Errorf("posting: %v", err)
	}
	posting := time.Since(start)
	for i := range b.acked {
		if b.acked[i].Load() {
			res.Webhooks++
		}
	}
	res.RatePerS = round1(float64(res.Webhooks) / posting.Seconds())
	fmt.Fprintf(o.stderr, "bench live: %d webhooks acked (%.0f/s); waiting for every client to have every message\n", res.Webhooks, res.RatePerS)

	deadline := time.Now().Add(o.settle)
	for {
		missed := b.missed()
		if missed == 0 || time.Now().After(deadline) {
			res.Missed = missed
			break
		}
		select {
		case <-ctx.Done():
			return res, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	var lat [2][]time.Duration
	for _, c := range b.clients {
		_ = c.conn.CloseNow()
		c.mu.Lock()
		for p := range lat {
			lat[p] = append(lat[p], c.lat[p]...)
		}
		res.Duplicated += c.dups
		res.CrossTenant += c.cross
		res.Resumed += c.resumed
		res.Events += c.events
		c.mu.Unlock()
	}
	for p := range lat {
		slices.Sort(lat[p])
	}
	res.P50Ms = percentileMs(lat[0], 0.50)
	res.P99Ms = percentileMs(lat[0], 0.99)
	res.P99ReconnMs = percentileMs(lat[1], 0.99)
	return res, nil
}

// seed makes the tenants, their numbers and one user per client, with an
// access token each.
func (b *liveBench) seed(ctx context.Context, d *database, tokens *auth.Tokens) error {
	q := db.New(d.Pool)
	tenants := make([]uuid.UUID, b.o.tenants)
	for i := range tenants {
		t, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: fmt.Sprintf("bench live %d", i)})
		if err != nil {
			return fmt.Errorf("tenant: %w", err)
		}
		tenants[i] = t.ID
		pnid := strconv.Itoa(920000000000000 + i)
		if _, err := q.AddPhoneNumber(ctx, db.AddPhoneNumberParams{ID: uuid.New(), TenantID: t.ID, PhoneNumberID: pnid,
			DisplayPhoneNumber: fmt.Sprintf("+1555%07d", i), WabaID: strconv.Itoa(930000000000000 + i)}); err != nil {
			return fmt.Errorf("number: %w", err)
		}
		b.pnids = append(b.pnids, pnid)
		b.pnidOf[pnid] = i
	}
	for i := range b.o.clients {
		tenant := i % b.o.tenants
		role := auth.RoleAgent
		if i < b.o.tenants {
			role = auth.RoleOwner
		}
		u, err := q.CreateUser(ctx, db.CreateUserParams{ID: uuid.New(), TenantID: tenants[tenant],
			Email: fmt.Sprintf("live-%d@bench.example", i), Name: fmt.Sprintf("User %d", i), PasswordHash: "-", Role: role})
		if err != nil {
			return fmt.Errorf("user: %w", err)
		}
		tok, _, err := tokens.Issue(auth.Claims{UserID: u.ID, TenantID: tenants[tenant], Role: role})
		if err != nil {
			return err
		}
		// Sized for every event of its tenant: growing maps of this size
		// while the clock runs costs the cores the server needs.
		perTenant := 2 * int(b.o.duration.Seconds()*float64(b.o.rate)) / b.o.tenants
		b.clients = append(b.clients, &liveClient{tenant: tenant, token: tok,
			rows: make(map[rowKey]bool, 2*perTenant+perTenant/4), got: make(map[int]bool, perTenant+perTenant/8)})
	}
	return nil
}

// connectAll connects every client (again, with since, when they were
// connected before), 32 at a time, and starts their readers once synced.
func (b *liveBench) connectAll(ctx context.Context) error {
	var g errgroup.Group
	g.SetLimit(32)
	for _, c := range b.clients {
		g.Go(func() error { return b.connect(ctx, c) })
	}
	return g.Wait()
}

func (b *liveBench) connect(ctx context.Context, c *liveClient) error {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(dctx, strings.Replace(b.base, "http://", "ws://", 1)+"/api/ws", nil)
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	conn.SetReadLimit(1 << 20)
	c.mu.Lock()
	since := c.highest
	c.mu.Unlock()
	auth, _ := json.Marshal(map[string]any{"type": "auth", "token": c.token, "since": since})
	if err := conn.Write(dctx, websocket.MessageText, auth); err != nil {
		return fmt.Errorf("auth: %w", err)
	}
	c.conn = conn
	// Up to synced: the hello and what the resume sends. A message holds
	// one or more events, one per line.
	live := false
	for !live {
		_, data, err := conn.Read(dctx)
		if err != nil {
			return fmt.Errorf("resume: %w", err)
		}
		for line := range bytes.SplitSeq(data, []byte("\n")) {
			if bytes.HasPrefix(line, []byte(`{"type":"synced"`)) {
				live = true
				continue
			}
			b.receive(c, line, live)
		}
	}
	go func() {
		for {
			_, data, err := conn.Read(context.Background())
			if err != nil {
				return
			}
			for line := range bytes.SplitSeq(data, []byte("\n")) {
				b.receive(c, line, true)
			}
		}
	}()
	return nil
}

// receive takes one frame of c; live says it came after synced. It reads
// the few fields it needs in place: the clients share the cores with the
// server they measure.
func (b *liveBench) receive(c *liveClient, data []byte, live bool) {
	at := time.Now()
	typ := between(data, `{"type":"`, `"`)
	isConv := string(typ) == "conversation.updated"
	if string(typ) != "message.created" && string(typ) != "message.updated" && !isConv {
		return
	}
	seq, _ := strconv.ParseInt(string(between(data, `"seq":`, `,`)), 10, 64)
	// The row's id: the first "id" key of the data (the API's objects
	// list their fields in alphabetical order, before any nested id).
	_, row, _ := bytes.Cut(data, []byte(`"data":`))
	key := rowKey{seq: seq}
	copy(key.id[:], between(row, `"id":"`, `"`))
	c.mu.Lock()
	defer c.mu.Unlock()
	c.highest = max(c.highest, seq)
	if c.rows[key] {
		c.dups++
	}
	c.rows[key] = true
	if isConv {
		if t, ok := b.pnidOf[string(between(data, `"phone_number_id":"`, `"`))]; !ok || t != c.tenant {
			c.cross++
		}
		return
	}
	// wamid.L<tenant>.<webhook>
	tenant, i, ok := bytes.Cut(bytes.TrimPrefix(between(data, `"wamid":"`, `"`), []byte("wamid.L")), []byte("."))
	t, err1 := strconv.Atoi(string(tenant))
	n, err2 := strconv.Atoi(string(i))
	if !ok || err1 != nil || err2 != nil || n >= len(b.sentAt) {
		c.cross++
		return
	}
	if t != c.tenant {
		c.cross++
		return
	}
	c.events++
	if !live {
		c.resumed++
	}
	if string(typ) == "message.created" && live && !c.got[n] {
		c.lat[b.phase.Load()] = append(c.lat[b.phase.Load()], at.Sub(time.Unix(0, b.sentAt[n].Load())))
	}
	c.got[n] = true
}

// rowKey is a row at a sequence: no pointers, so that the clients' large
// maps cost the garbage collector nothing to scan.
type rowKey struct {
	id  [36]byte
	seq int64
}

func between(b []byte, from, to string) []byte {
	i := bytes.Index(b, []byte(from))
	if i < 0 {
		return nil
	}
	rest := b[i+len(from):]
	j := bytes.Index(rest, []byte(to))
	if j < 0 {
		return nil
	}
	return rest[:j]
}

// post sends total webhooks at the rate, from o.senders connections.
func (b *liveBench) post(ctx context.Context, secret string, start time.Time, total int) error {
	var next atomic.Int64
	var g errgroup.Group
	for range b.o.senders {
		p, err := newPoster(b.base, 10*time.Second)
		if err != nil {
			return err
		}
		g.Go(func() error {
			defer p.close()
			for {
				i := int(next.Add(1) - 1)
				if i >= total || ctx.Err() != nil {
					return ctx.Err()
				}
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(b.o.rate))))
				tenant := i % b.o.tenants
				body := fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"%d","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":%q},"contacts":[{"profile":{"name":"Customer %d"},"wa_id":"1650%04d%03d"}],"messages":[{"from":"1650%04d%03d","id":"wamid.L%d.%d","timestamp":"%d","text":{"body":"live bench message %d"},"type":"text"}]},"field":"messages"}]}]}`,
					930000000000000+tenant, b.pnids[tenant], i%20, tenant, i%20, tenant, i%20, tenant, i, time.Now().Unix(), i)
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write(body)
				b.sentAt[i].Store(time.Now().UnixNano())
				code, msg, err := p.post("/api/webhook", "sha256="+hex.EncodeToString(mac.Sum(nil)), body)
				if err != nil || code != http.StatusOK {
					fmt.Fprintf(b.o.stderr, "bench live: webhook %d: %d %s %v\n", i, code, msg, err)
					continue
				}
				b.acked[i].Store(true)
			}
		})
	}
	return g.Wait()
}

// missed counts (client, acked webhook of its tenant) pairs not received.
func (b *liveBench) missed() int {
	n := 0
	for _, c := range b.clients {
		c.mu.Lock()
		for i := c.tenant; i < len(b.acked); i += b.o.tenants {
			if b.acked[i].Load() && !c.got[i] {
				n++
			}
		}
		c.mu.Unlock()
	}
	return n
}
