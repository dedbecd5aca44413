package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/sql/db"
)

// The demo's Meta: a WhatsApp Business Account with two numbers, their
// tokens (known to the in-process simulator only) and its templates.
const (
	demoAppSecret = "wam-demo-app-secret"
	demoWABA      = "102290129340398"
)

var demoNumbers = []struct{ id, display, name, token string }{
	{"106540352242922", "+15550783881", "Demo Shop", "EAAGdemo-shop-access-token-0000000001"},
	{"106540352242923", "+15550783882", "Demo Shop Support", "EAAGdemo-support-access-token-000002"},
}

var demoTemplates = []meta.Template{
	{Name: "hello_world", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Hello from Demo Shop! How can we help?"}]`)},
	{Name: "order_update", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"HEADER","format":"TEXT","text":"Order {{1}}"},{"type":"BODY","text":"Hi {{1}}, your order {{2}} is on its way and arrives {{3}}."},{"type":"FOOTER","text":"Demo Shop"}]`)},
	{Name: "appointment_reminder", Language: "en_US", Category: "UTILITY", Components: json.RawMessage(`[{"type":"BODY","text":"Reminder: your appointment is on {{1}} at {{2}}."},{"type":"BUTTONS","buttons":[{"type":"QUICK_REPLY","text":"Confirm"},{"type":"QUICK_REPLY","text":"Reschedule"}]}]`)},
	{Name: "spring_sale", Language: "en_US", Category: "MARKETING", Components: json.RawMessage(`[{"type":"HEADER","format":"IMAGE"},{"type":"BODY","text":"Spring sale: {{1}} off everything until Sunday."},{"type":"BUTTONS","buttons":[{"type":"URL","text":"Shop now","url":"https://example.com/sale/{{1}}"}]}]`)},
}

// simServer is a Meta simulator on a local port, for demo mode and the
// send benchmark; it notes when it accepted its first and last message.
type simServer struct {
	sim *meta.Simulator
	srv *http.Server
	url string // the simulator's base URL

	mu          sync.Mutex
	first, last time.Time
}

func listenSim(o meta.SimOptions) (*simServer, error) {
	sim := meta.NewSimulatorWith(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sim.Close()
		return nil, fmt.Errorf("listen for the simulator: %w", err)
	}
	s := &simServer{sim: sim, url: "http://" + ln.Addr().String()}
	s.srv = &http.Server{Handler: http.HandlerFunc(s.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

func (s *simServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/messages") {
		s.sim.ServeHTTP(w, r)
		return
	}
	sw := &acceptWriter{ResponseWriter: w, status: http.StatusOK}
	s.sim.ServeHTTP(sw, r)
	if sw.status == http.StatusOK {
		now := time.Now()
		s.mu.Lock()
		if s.first.IsZero() {
			s.first = now
		}
		s.last = now
		s.mu.Unlock()
	}
}

// firstLast are when the simulator answered its first and last message 200.
func (s *simServer) firstLast() (time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.first, s.last
}

type acceptWriter struct {
	http.ResponseWriter
	status int
}

func (w *acceptWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (s *simServer) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = s.srv.Shutdown(ctx)
	s.sim.Close()
}

// demo is `wam serve --demo`: Meta's Graph API is a simulator in this
// process, whose customers write in, and a demo tenant to log in to.
type demo struct{ *simServer }

// startDemo starts the simulator, sending its webhooks to webhookURL signed
// with appSecret.
func startDemo(webhookURL, appSecret string, customerRate float64, log *slog.Logger) (*demo, error) {
	o := meta.DefaultSimOptions()
	o.WebhookURL, o.AppSecret = webhookURL, appSecret
	o.Customers, o.CustomerRate, o.Seed = 12, customerRate, 1
	// Customers read what agents send them, and nothing fails on its own:
	// the demo shows the ticks move; its faults are for tests to set.
	o.UnreadShare, o.FailShare = 0, 0
	o.Logger = log.With("component", "simulator")
	s, err := listenSim(o)
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, n := range demoNumbers {
		s.sim.AddNumber(demoWABA, n.id, n.display, n.name, n.token)
	}
	for _, t := range demoTemplates {
		s.sim.AddTemplate(demoWABA, t)
	}
	return &demo{s}, nil
}

// demoAccount is who logs in to the demo.
type demoAccount struct {
	email, password string
}

// seed makes the demo tenant once per data dir: an owner and an agent who
// log in with password, and the simulator's numbers connected with their
// tokens. It reports whether it made them now.
func (d *demo) seed(ctx context.Context, pool *pgxpool.Pool, keys *auth.KeyRing, owner demoAccount, argon auth.Argon2Params) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	q := db.New(pool)
	if _, err := q.UserByEmail(ctx, owner.email); err == nil {
		return false, nil
	} else if !errors.Is(err, pgx.ErrNoRows) {
		return false, err
	}
	hash, err := auth.HashPassword(owner.password, argon)
	if err != nil {
		return false, err
	}
	err = pgx.BeginTxFunc(ctx, pool, pgx.TxOptions{}, func(tx pgx.Tx) error {
		q := db.New(tx)
		t, err := q.CreateTenant(ctx, db.CreateTenantParams{ID: uuid.New(), Name: "Demo Shop"})
		if err != nil {
			return err
		}
		for _, u := range []struct{ email, name, role string }{
			{owner.email, "Demo Owner", auth.RoleOwner},
			{demoAgentEmail, "Alex (agent)", auth.RoleAgent},
		} {
			if _, err := q.CreateUser(ctx, db.CreateUserParams{ID: uuid.New(), TenantID: t.ID, Email: u.email, Name: u.name, PasswordHash: hash, Role: u.role}); err != nil {
				return err
			}
		}
		for _, n := range demoNumbers {
			p := db.ConnectNumberParams{ID: uuid.New(), TenantID: t.ID, PhoneNumberID: n.id, DisplayPhoneNumber: n.display,
				WabaID: demoWABA, VerifiedName: n.name, MessagesPerSecond: 80}
			if p.SecretKeyID, p.AccessTokenEnc, err = keys.Encrypt([]byte(n.token), auth.CredentialAAD(t.ID, n.id, "access_token")); err != nil {
				return err
			}
			if _, err := q.ConnectNumber(ctx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("demo: make the demo tenant: %w", err)
	}
	return true, nil
}

// demoAgentEmail is the demo's agent; the same password as the owner.
const demoAgentEmail = "agent@wam.local"
