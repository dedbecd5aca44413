package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/wam-project/wam/meta"
	"github.com/wam-project/wam/streams"
)

const benchIngestUsage = `Usage: wam bench ingest --url URL --app-secret S --phone-number-id P --api-key K [-n N] [-c C]

Load-tests webhook ingest of a running "wam serve", the way Meta would: N signed
webhooks (inbound messages of every kind and statuses of outbound messages)
posted from C concurrent connections to URL/api/webhook, about 1% of the acked
ones posted again as Meta's redeliveries. Then it reads every conversation and
message of the phone number's users back through the API until each acked
webhook shows up, and counts what was lost or applied twice. Finally it
measures the same N payloads published straight to a JetStream server of its
own (file storage, synchronous publish, one TCP connection per publisher) as
the baseline: what the ingest path costs on top of storing.

The phone number must belong to the API key's tenant (wam number add). Each
run writes as new WhatsApp users, so runs do not share conversations.

The last line of stdout is one JSON object:
  acked                      webhooks answered 200 (the server stored them)
  failed                     webhooks answered otherwise, or not at all
  lost                       acked webhooks whose message never appeared in the API
  duplicates                 effects applied twice (see "duplicates" below)
  rate_per_s                 acked webhooks per second while posting
  p50_ms, p99_ms             latency of the POSTs answered 200
  jetstream_sync_rate_per_s  the baseline's publishes per second
  ratio                      rate_per_s / jetstream_sync_rate_per_s
and, for a closer look: retried (redeliveries posted), p90_ms, max_ms,
mean_body_bytes, ingest_seconds (posting time) and visible_after_seconds
(from the end of posting until the API showed every acked webhook).
duplicates counts messages stored twice under one wamid plus, per
conversation, unread messages beyond the user messages posted to it.

Flags:
`

// ingestOptions are the flags of bench ingest.
type ingestOptions struct {
	url, appSecret, apiKey  string
	phoneNumberID, display  string
	wabaID                  string
	n, c, senders           int
	timeout, requestTimeout time.Duration
	retryShare              float64
	seed                    int64
	syncAlways              bool
	progressEvery           time.Duration
	stderr                  io.Writer
}

// benchIngest is `wam bench ingest`: see benchIngestUsage.
func benchIngest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var o ingestOptions
	fs := newFlagSet("bench ingest", stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), benchIngestUsage)
		fs.PrintDefaults()
	}
	baseURL := getenv("WAM_URL")
	if baseURL == "" {
		baseURL = "http://localhost:3000"
	}
	fs.StringVar(&o.url, "url", baseURL, "base `url` of the running wam serve (WAM_URL)")
	fs.StringVar(&o.appSecret, "app-secret", getenv("META_APP_SECRET"), "Meta app `secret` the server verifies webhook signatures with (META_APP_SECRET)")
	fs.StringVar(&o.apiKey, "api-key", getenv("WAM_API_KEY"), "API `key` of the tenant owning the phone number, to read the results back (WAM_API_KEY)")
	fs.StringVar(&o.phoneNumberID, "phone-number-id", "", "Meta's phone number `id` the webhooks are for; it must belong to the API key's tenant (required)")
	fs.StringVar(&o.display, "display-phone-number", "+1 555-000-1111", "the business `number` shown in the webhooks' metadata")
	fs.StringVar(&o.wabaID, "waba-id", "100000000000001", "WhatsApp Business Account `id` of the webhooks' entries")
	fs.IntVar(&o.n, "n", 10000, "`number` of distinct webhooks to post")
	fs.IntVar(&o.c, "c", 16, "`concurrency`: webhooks in flight at once, and publishers in the baseline")
	fs.IntVar(&o.senders, "senders", 250, "`number` of WhatsApp users the traffic is spread over (one conversation each)")
	fs.Float64Var(&o.retryShare, "retries", 0.01, "`share` of acked webhooks posted a second time, as Meta redelivers")
	fs.Int64Var(&o.seed, "seed", 0, "`seed` of the webhook generator; 0 picks one, so each run writes as new users")
	fs.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up checking the API after this long without progress")
	fs.DurationVar(&o.requestTimeout, "request-timeout", 30*time.Second, "give up on one POST after this long (it counts as failed)")
	fs.BoolVar(&o.syncAlways, "sync-always", false, "make the baseline fsync before each ack: compare with a server run with --sync-always")
	if help, err := parseFlags(fs, args); help || err != nil {
		return err
	}
	switch {
	case o.appSecret == "":
		return errors.New("--app-secret (or META_APP_SECRET) is required: the Meta app secret wam serve verifies signatures with")
	case o.apiKey == "":
		return errors.New("--api-key (or WAM_API_KEY) is required: an API key of the tenant, as printed by `wam tenant create`")
	case o.phoneNumberID == "":
		return errors.New("--phone-number-id is required: a phone number id connected with `wam number add`")
	case o.n < 1 || o.c < 1 || o.senders < 1:
		return errors.New("-n, -c and --senders must be at least 1")
	case o.retryShare < 0 || o.retryShare > 1:
		return errors.New("--retries is a share between 0 and 1")
	}
	if _, err := url.ParseRequestURI(o.url); err != nil {
		return fmt.Errorf("--url %q: %w", o.url, err)
	}
	o.url = strings.TrimRight(o.url, "/")
	if o.seed == 0 {
		o.seed = rand.Int64()
	}
	o.progressEvery = time.Second
	o.stderr = stderr

	res, err := runIngestBench(ctx, o)
	if err != nil {
		return err
	}
	return printJSON(stdout, res)
}

// ingestResult is the JSON line bench ingest prints.
type ingestResult struct {
	Acked          int     `json:"acked"`
	Failed         int     `json:"failed"`
	Lost           int     `json:"lost"`
	Duplicates     int     `json:"duplicates"`
	RatePerS       float64 `json:"rate_per_s"`
	P50Ms          float64 `json:"p50_ms"`
	P99Ms          float64 `json:"p99_ms"`
	JetStreamRate  float64 `json:"jetstream_sync_rate_per_s"`
	Ratio          float64 `json:"ratio"`
	Retried        int     `json:"retried"`
	P90Ms          float64 `json:"p90_ms"`
	MaxMs          float64 `json:"max_ms"`
	MeanBodyBytes  int     `json:"mean_body_bytes"`
	IngestSeconds  float64 `json:"ingest_seconds"`
	ProjectSeconds float64 `json:"visible_after_seconds"`
}

// benchHook is one generated webhook and what the bench needs to check it.
type benchHook struct {
	body    []byte
	wamid   string
	waID    string // the user: sender of a message, recipient of a status
	inbound bool   // a message from the user, rather than a status
}

func runIngestBench(ctx context.Context, o ingestOptions) (ingestResult, error) {
	var res ingestResult
	hooks, err := generateHooks(o)
	if err != nil {
		return res, err
	}
	total := 0
	for _, h := range hooks {
		total += len(h.body)
	}
	res.MeanBodyBytes = total / len(hooks)

	client := &http.Client{
		Transport: &http.Transport{
			Proxy:               nil, // a local benchmark: never detour through a proxy from the environment
			MaxIdleConns:        2 * o.c,
			MaxIdleConnsPerHost: 2 * o.c, // keep-alive for every worker, or each POST pays a handshake
			IdleConnTimeout:     90 * time.Second,
			DisableCompression:  true,
		},
		Timeout: o.requestTimeout,
	}
	defer client.CloseIdleConnections()
	api := &benchAPI{client: client, base: o.url, key: o.apiKey}

	if err := api.checkFresh(ctx, hooks); err != nil {
		return res, err
	}

	fmt.Fprintf(o.stderr, "ingest: posting %d webhooks (mean %d bytes, seed %d) to %s/api/webhook from %d connections\n",
		len(hooks), res.MeanBodyBytes, o.seed, o.url, o.c)
	posted, err := postHooks(ctx, o, hooks)
	if err != nil {
		return res, err
	}
	res.Acked, res.Failed, res.Retried = posted.acked, posted.failed, posted.retried
	res.IngestSeconds = round3(posted.elapsed.Seconds())
	if res.Acked > 0 {
		res.RatePerS = round1(float64(res.Acked) / posted.elapsed.Seconds())
	}
	slices.Sort(posted.latencies)
	res.P50Ms = percentileMs(posted.latencies, 0.50)
	res.P90Ms = percentileMs(posted.latencies, 0.90)
	res.P99Ms = percentileMs(posted.latencies, 0.99)
	res.MaxMs = percentileMs(posted.latencies, 1)
	fmt.Fprintf(o.stderr, "ingest: %d acked, %d failed, %d redelivered in %.1fs: %.0f/s, p50 %.1fms, p99 %.1fms\n",
		res.Acked, res.Failed, res.Retried, posted.elapsed.Seconds(), res.RatePerS, res.P50Ms, res.P99Ms)
	if res.Acked == 0 {
		return res, fmt.Errorf("no webhook was acked (first problem: %s); is wam serve running at %s with this app secret, and is phone number %s connected?",
			posted.firstProblem, o.url, o.phoneNumberID)
	}

	verified, err := verifyHooks(ctx, api, o, hooks, posted.ackedSet)
	if err != nil {
		return res, err
	}
	res.Lost, res.Duplicates = verified.lost, verified.duplicates
	res.ProjectSeconds = round3(verified.elapsed.Seconds())

	rate, err := jetStreamBaseline(ctx, o, hooks)
	if err != nil {
		return res, fmt.Errorf("baseline: %w", err)
	}
	res.JetStreamRate = round1(rate)
	if rate > 0 {
		res.Ratio = math.Round(res.RatePerS/rate*1000) / 1000
	}
	return res, nil
}

// generateHooks makes the webhooks before the clock starts, so that the
// measurement is of the server, not of the generator.
func generateHooks(o ingestOptions) ([]benchHook, error) {
	g := meta.NewWebhookGen(o.phoneNumberID, o.display, o.wabaID, o.seed).WithSenders(o.senders)
	hooks := make([]benchHook, o.n)
	for i := range hooks {
		body, kind, wamid := g.Next()
		var w struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Messages []struct {
							From string `json:"from"`
						} `json:"messages"`
						Statuses []struct {
							RecipientID string `json:"recipient_id"`
						} `json:"statuses"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(body, &w); err != nil || len(w.Entry) != 1 || len(w.Entry[0].Changes) != 1 {
			return nil, fmt.Errorf("generated webhook %d is not one change: %v", i, err)
		}
		v := w.Entry[0].Changes[0].Value
		h := benchHook{body: body, wamid: wamid, inbound: !meta.KindIsStatus(kind)}
		switch {
		case h.inbound && len(v.Messages) == 1:
			h.waID = v.Messages[0].From
		case !h.inbound && len(v.Statuses) == 1:
			h.waID = v.Statuses[0].RecipientID
		}
		if h.waID == "" {
			return nil, fmt.Errorf("generated webhook %d (%s) names no user", i, kind)
		}
		hooks[i] = h
	}
	return hooks, nil
}

// postResult is what posting the webhooks gave.
type postResult struct {
	acked, failed, retried int
	ackedSet               []bool          // by index into the hooks
	latencies              []time.Duration // of every POST answered 200, redeliveries included
	elapsed                time.Duration
	firstProblem           string
}

// postHooks posts every webhook once from o.c workers; a webhook answered
// 200 is posted again with probability o.retryShare, byte for byte as Meta
// redelivers. A webhook not answered 200 is counted as failed and not
// retried: the bench measures, it does not try to get everything in.
func postHooks(ctx context.Context, o ingestOptions, hooks []benchHook) (postResult, error) {
	res := postResult{ackedSet: make([]bool, len(hooks))}
	var (
		next, acked, failed, retried atomic.Int64
		mu                           sync.Mutex
		wg                           sync.WaitGroup
	)
	problem := func(s string) {
		mu.Lock()
		if res.firstProblem == "" {
			res.firstProblem = s
		}
		mu.Unlock()
	}
	posters := make([]*poster, o.c)
	for w := range posters {
		p, err := newPoster(o.url, o.requestTimeout)
		if err != nil {
			return res, err
		}
		posters[w] = p
		defer p.close()
	}
	post := func(p *poster, body []byte) (time.Duration, bool) {
		start := time.Now()
		status, msg, err := p.post("/api/webhook", meta.Sign(body, o.appSecret), body)
		if err != nil {
			problem(err.Error())
			return 0, false
		}
		if status != http.StatusOK {
			problem(fmt.Sprintf("HTTP %d: %s", status, bytes.TrimSpace(msg)))
			return 0, false
		}
		return time.Since(start), true
	}

	stopProgress := progress(o.stderr, o.progressEvery, func(elapsed time.Duration) string {
		a := acked.Load()
		return fmt.Sprintf("ingest: %d/%d acked, %d failed, %.0f/s", a, len(hooks), failed.Load(), float64(a)/elapsed.Seconds())
	})
	start := time.Now()
	lat := make([][]time.Duration, o.c)
	for w := 0; w < o.c; w++ {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(o.seed), uint64(w)))
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				d, ok := post(posters[w], hooks[i].body)
				if !ok {
					failed.Add(1)
					continue
				}
				acked.Add(1)
				res.ackedSet[i] = true // each index is written by one worker only
				lat[w] = append(lat[w], d)
				if rng.Float64() < o.retryShare {
					retried.Add(1)
					if d, ok := post(posters[w], hooks[i].body); ok {
						lat[w] = append(lat[w], d)
					}
				}
			}
		})
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	stopProgress()
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("ingest interrupted: %w", err)
	}
	res.acked, res.failed, res.retried = int(acked.Load()), int(failed.Load()), int(retried.Load())
	for _, l := range lat {
		res.latencies = append(res.latencies, l...)
	}
	return res, nil
}

// verifyResult is what reading the webhooks back gave.
type verifyResult struct {
	lost, duplicates int
	elapsed          time.Duration
}

// verifyHooks reads the tenant's conversations and messages through the API
// until every acked webhook's wamid is there, or o.timeout passes without
// any new one turning up.
//
// Only the conversations of this run's users are read: the tenant may hold
// any amount of other traffic, which says nothing about this run. Every
// message (a status included: it creates a placeholder message) belongs to
// the conversation with its user, so nothing of this run is elsewhere.
//
// Duplicates are counted two ways, each of which can only be positive when
// something was applied twice:
//   - a wamid on two message rows (different ids). The schema keeps a
//     message unique per (tenant, wamid), so this stays 0 unless that
//     guarantee breaks; checking it costs nothing.
//   - a conversation whose unread_count exceeds the user messages posted to
//     it (acked or not: a POST that timed out may still have been stored).
//     Each user message adds at most one unread, and this run's users are
//     new, so the count is an upper bound; exceeding it means a message was
//     counted twice, which is exactly what a redelivery applied twice does.
//     Reactions are included in the bound although they do not count as
//     unread: that keeps the bound true whatever the projector counts.
func verifyHooks(ctx context.Context, api *benchAPI, o ingestOptions, hooks []benchHook, acked []bool) (verifyResult, error) {
	var res verifyResult
	want := make(map[string]bool) // acked wamids not seen yet
	users := make(map[string]bool)
	inboundPosted := make(map[string]int) // per wa_id
	for i, h := range hooks {
		users[h.waID] = true
		if h.inbound {
			inboundPosted[h.waID]++
		}
		if acked[i] {
			want[h.wamid] = true
		}
	}
	ackedCount := len(want)
	start := time.Now()
	lastProgress := start
	rowsOf := map[string]map[string]bool{} // wamid → message ids seen
	var excess int
	for round := 1; ; round++ {
		convs, err := api.conversations(ctx)
		if err != nil {
			return res, err
		}
		before := len(want)
		excess = 0
		for _, c := range convs {
			if !users[c.Contact.WaID] {
				continue
			}
			if over := c.UnreadCount - inboundPosted[c.Contact.WaID]; over > 0 {
				excess += over
			}
			msgs, err := api.messages(ctx, c.ID)
			if err != nil {
				return res, err
			}
			for _, m := range msgs {
				if _, ours := want[m.WAMID]; !ours && rowsOf[m.WAMID] == nil {
					continue
				}
				delete(want, m.WAMID)
				if rowsOf[m.WAMID] == nil {
					rowsOf[m.WAMID] = map[string]bool{}
				}
				rowsOf[m.WAMID][m.ID] = true
			}
		}
		if len(want) < before {
			lastProgress = time.Now()
		}
		fmt.Fprintf(o.stderr, "verify: round %d: %d/%d acked webhooks visible in the API after %.1fs\n",
			round, ackedCount-len(want), ackedCount, time.Since(start).Seconds())
		if len(want) == 0 || time.Since(lastProgress) > o.timeout {
			break
		}
		select {
		case <-ctx.Done():
			return res, fmt.Errorf("verify interrupted: %w", ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
	res.elapsed = time.Since(start)
	res.lost = len(want)
	for _, ids := range rowsOf {
		res.duplicates += len(ids) - 1
	}
	res.duplicates += excess
	if res.lost > 0 {
		fmt.Fprintf(o.stderr, "verify: %d acked webhooks never showed up, e.g. %s\n", res.lost, anyKey(want))
	}
	return res, nil
}

func anyKey(m map[string]bool) string {
	for k := range m {
		return k
	}
	return ""
}

// benchAPI reads wam's developer API with an API key.
type benchAPI struct {
	client *http.Client
	base   string
	key    string
}

type benchConversation struct {
	ID          string `json:"id"`
	UnreadCount int    `json:"unread_count"`
	Contact     struct {
		WaID string `json:"wa_id"`
	} `json:"contact"`
}

type benchMessage struct {
	ID    string `json:"id"`
	WAMID string `json:"wamid"`
}

// checkFresh makes sure the API key works and that none of the run's users
// has a conversation yet: a seed reused against the same database would
// find the last run's messages and count their unread as duplicates.
func (a *benchAPI) checkFresh(ctx context.Context, hooks []benchHook) error {
	convs, err := a.conversations(ctx)
	if err != nil {
		return err
	}
	users := make(map[string]bool)
	for _, h := range hooks {
		users[h.waID] = true
	}
	for _, c := range convs {
		if users[c.Contact.WaID] {
			return fmt.Errorf("user %s already has a conversation with this tenant: pick another --seed (or leave it 0)", c.Contact.WaID)
		}
	}
	return nil
}

func (a *benchAPI) conversations(ctx context.Context) ([]benchConversation, error) {
	return benchPages[benchConversation](ctx, a, "/api/conversations")
}

func (a *benchAPI) messages(ctx context.Context, conversationID string) ([]benchMessage, error) {
	return benchPages[benchMessage](ctx, a, "/api/conversations/"+url.PathEscape(conversationID)+"/messages")
}

// benchPages reads every page of a list, 200 items at a time.
func benchPages[T any](ctx context.Context, a *benchAPI, path string) ([]T, error) {
	var all []T
	cursor := ""
	for {
		var page struct {
			Data       []T    `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		if err := a.get(ctx, path+"?limit=200&cursor="+url.QueryEscape(cursor), &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.NextCursor == "" || len(page.Data) == 0 {
			return all, nil
		}
		cursor = page.NextCursor
	}
}

func (a *benchAPI) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.client.Do(req)
	if err != nil {
		return fmt.Errorf("read API: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusTooManyRequests {
		// Over the tenant's API quota: wait as told, then ask again.
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		select {
		case <-time.After(time.Duration(max(wait, 1)) * time.Second):
		case <-ctx.Done():
			return ctx.Err()
		}
		return a.get(ctx, path, v)
	}
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
		hint := ""
		if resp.StatusCode == http.StatusUnauthorized {
			hint = " (check --api-key / WAM_API_KEY)"
		}
		return fmt.Errorf("GET %s: HTTP %d%s: %s", path, resp.StatusCode, hint, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// jetStreamBaseline publishes the payloads to a JetStream server of its own
// as wam's webhook handler does (same stream, subjects, envelope headers and
// synchronous ack), from o.c publishers each on its own TCP connection, like
// `nats bench js pub sync --clients C`. It returns publishes per second.
func jetStreamBaseline(ctx context.Context, o ingestOptions, hooks []benchHook) (float64, error) {
	dir, err := os.MkdirTemp("", "wam-bench-nats-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ns, err := streams.StartServer(streams.ServerOptions{StoreDir: dir, Listen: "127.0.0.1:0", SyncAlways: o.syncAlways})
	if err != nil {
		return 0, err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	pubs := make([]*streams.Publisher, o.c)
	for i := range pubs {
		nc, err := streams.Connect(ns.ClientURL(), fmt.Sprintf("wam-bench-%d", i))
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return 0, err
		}
		if i == 0 {
			if _, err := streams.EnsureStream(ctx, js, streams.StreamOptions{}); err != nil {
				return 0, err
			}
		}
		pubs[i] = streams.NewPublisher(js)
	}
	tenant := uuid.NewString() // as long as a real tenant id, so subjects are as long
	fmt.Fprintf(o.stderr, "baseline: publishing %d payloads to JetStream at %s from %d connections\n", len(hooks), ns.ClientURL(), o.c)
	var (
		next, done atomic.Int64
		firstErr   error
		once       sync.Once
		wg         sync.WaitGroup
	)
	stopProgress := progress(o.stderr, o.progressEvery, func(elapsed time.Duration) string {
		d := done.Load()
		return fmt.Sprintf("baseline: %d/%d published, %.0f/s", d, len(hooks), float64(d)/elapsed.Seconds())
	})
	start := time.Now()
	for _, p := range pubs {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(hooks) {
					return
				}
				_, err := p.Publish(ctx, streams.Event{
					Tenant: tenant, Type: streams.TypeWebhookMeta, Data: hooks[i].body,
					OccurredAt: time.Now(), RequestID: uuid.NewString(), Actor: "meta",
				})
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopProgress()
	if firstErr != nil {
		return 0, firstErr
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	rate := float64(done.Load()) / elapsed.Seconds()
	fmt.Fprintf(o.stderr, "baseline: %d published in %.1fs: %.0f/s\n", done.Load(), elapsed.Seconds(), rate)
	return rate, nil
}

// progress prints line(elapsed) to w every interval until the returned
// function is called.
func progress(w io.Writer, every time.Duration, line func(elapsed time.Duration) string) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintln(w, line(time.Since(start)))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// percentileMs is the p-quantile of sorted (nearest rank), in milliseconds.
func percentileMs(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	i = min(max(i, 0), len(sorted)-1)
	return round3(float64(sorted[i]) / float64(time.Millisecond))
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
