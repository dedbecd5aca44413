package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wam-project/wam/api"
	"github.com/wam-project/wam/auth"
	"github.com/wam-project/wam/sql/db"
	"github.com/wam-project/wam/streams"
)

// apiProbe reads the inbox through wam's HTTP API at a steady rate, as the
// browsers of a tenant's agents do (the conversation list, then the
// messages of one conversation), from an API server of its own on the
// bench's database, and records how long each request took. A benchmark
// takes the latencies of one phase (before, during) with take.
type apiProbe struct {
	base   string
	client *http.Client
	tokens *auth.Tokens
	claims auth.Claims
	srv    *http.Server

	mu     sync.Mutex
	token  string
	issued time.Time
	convs  []string
	lat    []time.Duration
	errs   int
	first  error
}

// startAPIProbe serves wam's API for tenant on pool and js, and makes a
// user of the tenant to read it as (its API quota raised, so that the
// probe measures latency, not the quota).
func startAPIProbe(ctx context.Context, pool *pgxpool.Pool, js jetstream.JetStream, tenant uuid.UUID) (*apiProbe, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	p := &apiProbe{tokens: auth.NewTokens(key, time.Now), client: &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64}}}
	q := db.New(pool)
	if err := q.SetTenantQuota(ctx, db.SetTenantQuotaParams{ID: tenant, ApiRequestsPerMinute: 1 << 30, MessagesPerMinute: 1000}); err != nil {
		return nil, fmt.Errorf("tenant quota: %w", err)
	}
	u, err := q.CreateUser(ctx, db.CreateUserParams{ID: uuid.New(), TenantID: tenant, Email: "probe@bench.example",
		Name: "API probe", PasswordHash: "-", Role: "agent"})
	if err != nil {
		return nil, fmt.Errorf("probe user: %w", err)
	}
	p.claims = auth.Claims{UserID: u.ID, TenantID: tenant, Role: "agent"}
	h := api.New(api.Config{Tokens: p.tokens}, pool, streams.NewPublisher(js), slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.base = "http://" + ln.Addr().String()
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *apiProbe) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

// bearer is a token of the probe's user, issued again well before it
// expires (a phase can outlast one).
func (p *apiProbe) bearer() (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.token == "" || time.Since(p.issued) > auth.AccessTTL/3 {
		tok, _, err := p.tokens.Issue(p.claims)
		if err != nil {
			return "", err
		}
		p.token, p.issued = tok, time.Now()
	}
	return p.token, nil
}

// run reads at rate requests per second from conns connections until ctx
// ends: even requests list the conversations (and remember their ids), odd
// ones read the messages of one of them.
func (p *apiProbe) run(ctx context.Context, rate, conns int) {
	var wg sync.WaitGroup
	interval := time.Second * time.Duration(conns) / time.Duration(rate)
	for c := range conns {
		wg.Go(func() {
			// The connections take turns: requests spread evenly over
			// time, not in bursts of conns.
			select {
			case <-ctx.Done():
				return
			case <-time.After(interval * time.Duration(c) / time.Duration(conns)):
			}
			t := time.NewTicker(interval)
			defer t.Stop()
			for i := c; ; i += conns {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
				}
				p.one(ctx, i)
			}
		})
	}
	wg.Wait()
}

func (p *apiProbe) one(ctx context.Context, i int) {
	path := "/api/conversations?limit=25"
	p.mu.Lock()
	if i%2 == 1 && len(p.convs) > 0 {
		path = "/api/conversations/" + p.convs[i/2%len(p.convs)] + "/messages?limit=50"
	}
	p.mu.Unlock()
	tok, err := p.bearer()
	if err != nil {
		p.failed(err)
		return
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := p.client.Do(req)
	if err != nil {
		if ctx.Err() == nil {
			p.failed(err)
		}
		return
	}
	var page struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	err = json.NewDecoder(io.LimitReader(resp.Body, 8<<20)).Decode(&page)
	took := time.Since(start)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || err != nil {
		p.failed(fmt.Errorf("GET %s: HTTP %d %v", path, resp.StatusCode, err))
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lat = append(p.lat, took)
	if i%2 == 0 && len(page.Data) > 0 {
		p.convs = p.convs[:0]
		for _, c := range page.Data {
			p.convs = append(p.convs, c.ID)
		}
	}
}

func (p *apiProbe) failed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.errs++
	if p.first == nil {
		p.first = err
	}
}

// probePhase is what the probe saw in one phase.
type probePhase struct {
	requests, errors int
	p50, p99         float64 // ms
	firstErr         error
}

// take returns the phase since the last take and starts the next.
func (p *apiProbe) take() probePhase {
	p.mu.Lock()
	lat, errs, first := p.lat, p.errs, p.first
	p.lat, p.errs, p.first = nil, 0, nil
	p.mu.Unlock()
	slices.Sort(lat)
	return probePhase{requests: len(lat), errors: errs, firstErr: first,
		p50: percentileMs(lat, 0.50), p99: percentileMs(lat, 0.99)}
}
