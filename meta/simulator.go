package meta

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Simulator is Meta's side of wam, faithful enough to test against: the
// Graph API endpoints wam calls (numbers, WABAs, messages, media,
// templates) with Meta's answers and errors, the limits Meta enforces,
// signed webhooks with delivery statuses sent to wam and retried until
// wam takes them, customers who write in, and counts that tests and
// benchmarks check (Stats). It is an http.Handler: use it in-process with
// httptest, or on its own as `wam sim`.
//
// A Simulator from NewSimulator only answers; one whose options name a
// WebhookURL sends webhooks too. Its background work (statuses, retries,
// template reviews, customers) starts with the first thing to do and stops
// at Close.
type Simulator struct {
	opts SimOptions
	now  func() time.Time
	log  *slog.Logger

	mu        sync.Mutex
	rng       *rand.Rand
	seq       uint64 // ids issued
	key       uint64 // scrambles seq into ids
	started   time.Time
	numbers   map[string]*simNumber // by phone number id
	pairs     map[simPair]*simPairState
	sends     map[string]*simSend // outbound messages by wamid
	inbound   map[string]simPair  // customers' messages by wamid
	media     map[string]*simMedia
	templates map[string]*simTemplate // by id
	faults    Faults
	stats     simCounters

	sched simScheduler
	hooks simDelivery
}

// simNumber is a business phone number the simulator knows.
type simNumber struct {
	PhoneNumber
	waba, token string
	throughput  int         // accepted messages per second at most
	recent      []time.Time // accepted sends within the last second, oldest first
	maxPerSec   int
	customers   []simCustomer
}

// simPair is a business number and one of its users.
type simPair struct{ number, waID string }

// simPairState is what the simulator keeps per number and user: the
// customer-service window, the pair-rate bucket, the conversation and what
// the business last sent, which customers answer to.
type simPairState struct {
	lastInbound  time.Time // opens the 24-hour window
	tokens       float64   // pair-rate bucket
	tokensAt     time.Time
	conversation map[string]*simConversation // by pricing category
	lastOut      *simSend
}

type simConversation struct {
	id      string
	expires time.Time
}

// SimOptions configure a Simulator. The zero value is Meta with its
// limits (80 messages/s per number, one message per 6 s to a user with a
// burst of 45), no delays, no faults and no webhooks; DefaultSimOptions
// adds delays and shares like real traffic's.
type SimOptions struct {
	// WebhookURL is where webhooks go (wam's /api/webhook); empty sends none.
	WebhookURL string
	// AppSecret signs webhooks (X-Hub-Signature-256).
	AppSecret string
	// PublicURL is the simulator's own URL, which media URLs point to;
	// empty takes it from each request (scheme and Host).
	PublicURL string
	// HTTPClient delivers webhooks; nil is a client with a 10 s timeout.
	HTTPClient *http.Client
	// WebhookWorkers is how many webhooks are delivered at once (default 4).
	WebhookWorkers int
	// A webhook that does not get a 2xx is retried at once, then after
	// RetryBase doubling up to RetryMax (defaults 1 s, 1 h), and dropped
	// after RetryFor (default 7 days), as Meta does.
	RetryBase, RetryMax, RetryFor time.Duration

	// Throughput is how many messages a number may send per second
	// (default 80; SetThroughput changes one number's). Negative: no limit.
	Throughput int
	// PairInterval and PairBurst are the pair rate: one message per
	// PairInterval to the same user, PairBurst at once (defaults 6 s, 45).
	// A negative PairInterval turns the limit off.
	PairInterval time.Duration
	PairBurst    int
	// WindowErrorsSync answers a non-template message outside the 24-hour
	// window with error 131047 at once. Meta (and by default the
	// simulator) accepts it and reports 131047 in a failed status.
	WindowErrorsSync bool

	// NoStatuses sends no status webhooks at all (other webhooks still go):
	// for measuring the send path alone.
	NoStatuses bool
	// Each accepted message is reported sent after SentAfter, delivered
	// DeliveredAfter later and read ReadAfter after that.
	SentAfter, DeliveredAfter, ReadAfter time.Duration
	// UnreadShare of delivered messages are never read; OutOfOrderShare
	// have their statuses delivered last first; DuplicateShare have one
	// status delivered twice; FailShare fail after "sent" with FailCode
	// (default 131026, undeliverable). Shares are from 0 to 1.
	UnreadShare, OutOfOrderShare, DuplicateShare, FailShare float64
	FailCode                                                int

	// TemplateReview is how long a new template stays PENDING. It is then
	// APPROVED, or REJECTED when its name is in RejectTemplates (the value
	// is Meta's reason, such as INVALID_FORMAT), and a
	// message_template_status_update webhook says so.
	TemplateReview  time.Duration
	RejectTemplates map[string]string

	// Customers is how many users write to each number (default 20);
	// CustomerRate is how many messages per second they send in all
	// (0: customers write only when told, see CustomerWrites).
	Customers    int
	CustomerRate float64

	// Faults are errors and latency added to the Graph API's answers.
	Faults Faults

	// Now is the clock (default time.Now); Seed makes ids and choices
	// repeatable; Logger gets delivery failures (default: discarded).
	Now    func() time.Time
	Seed   int64
	Logger *slog.Logger
}

// DefaultSimOptions are SimOptions like production traffic: statuses
// within seconds, a few messages unread, a template review of 5 s.
func DefaultSimOptions() SimOptions {
	return SimOptions{
		SentAfter: 300 * time.Millisecond, DeliveredAfter: 700 * time.Millisecond, ReadAfter: 3 * time.Second,
		UnreadShare: 0.3, OutOfOrderShare: 0.02, DuplicateShare: 0.02, FailShare: 0.01,
		TemplateReview: 5 * time.Second,
	}
}

func (o *SimOptions) setDefaults() {
	def := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.RetryBase, time.Second)
	def(&o.RetryMax, time.Hour)
	def(&o.RetryFor, 7*24*time.Hour)
	if o.PairInterval == 0 {
		o.PairInterval = 6 * time.Second
	}
	if o.PairBurst <= 0 {
		o.PairBurst = 45
	}
	if o.Throughput == 0 {
		o.Throughput = 80
	}
	if o.FailCode == 0 {
		o.FailCode = CodeUndeliverable
	}
	if o.WebhookWorkers <= 0 {
		o.WebhookWorkers = 4
	}
	if o.Customers <= 0 {
		o.Customers = 20
	}
	if o.HTTPClient == nil {
		// A connection kept for each worker, as Meta keeps its connections
		// to a webhook endpoint: Go's default keeps two, so that the other
		// workers would open (and leave in TIME_WAIT) one per webhook.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.MaxIdleConns = max(t.MaxIdleConns, 2*o.WebhookWorkers)
		t.MaxIdleConnsPerHost = o.WebhookWorkers
		o.HTTPClient = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	o.Faults.setDefaults()
}

// NewSimulator returns a Simulator with Meta's limits that knows no
// numbers yet and sends no webhooks.
func NewSimulator() *Simulator { return NewSimulatorWith(SimOptions{}) }

// NewSimulatorWith returns a Simulator configured by o. Close it to stop
// its background work.
func NewSimulatorWith(o SimOptions) *Simulator {
	o.setDefaults()
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x5a5a_1234_9e37_79b9))
	s := &Simulator{
		opts: o, now: o.Now, log: o.Logger, rng: rng, key: rng.Uint64(), started: o.Now(),
		numbers: map[string]*simNumber{}, pairs: map[simPair]*simPairState{}, sends: map[string]*simSend{},
		inbound: map[string]simPair{}, media: map[string]*simMedia{}, templates: map[string]*simTemplate{},
		faults: o.Faults,
	}
	s.stats.init()
	s.sched.init(s.now)
	s.hooks.init(s)
	if o.CustomerRate > 0 {
		s.scheduleCustomer()
	}
	return s
}

// Close stops the simulator's background work: pending statuses, webhook
// retries and customers are dropped. The handler still answers.
func (s *Simulator) Close() {
	s.hooks.close() // first: the scheduler may wait for room in the delivery queue
	s.sched.close()
}

// AddNumber makes the simulator know phone number id, in the WhatsApp
// Business Account waba, reachable with token. A token reaches the WABAs of
// the numbers it was given for, and sees all their numbers. Adding a number
// again changes its display number, name and token.
func (s *Simulator) AddNumber(waba, id, display, verifiedName, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.numbers[id]
	if n == nil {
		n = &simNumber{throughput: s.opts.Throughput}
		s.numbers[id] = n
	}
	n.PhoneNumber = PhoneNumber{ID: id, DisplayPhoneNumber: display, VerifiedName: verifiedName}
	n.waba, n.token = waba, token
	if n.customers == nil {
		n.customers = newCustomers(id, display, waba, s.opts.Seed, s.opts.Customers)
	}
}

// SetThroughput sets how many messages per second number id may send
// (Meta raises it to 1000 for some numbers; numbers shared with the
// WhatsApp Business app get 20). Negative: no limit.
func (s *Simulator) SetThroughput(id string, perSecond int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := s.numbers[id]; n != nil {
		n.throughput = perSecond
	}
}

// versionPath matches the version segment of Graph API paths: v23.0.
var versionPath = regexp.MustCompile(`^v[0-9]+\.[0-9]+$`)

// ServeHTTP answers the Graph API below /{version}/, media downloads at
// /whatsapp_business/attachments/ and the simulator's own endpoints below
// /_sim/.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := strings.Trim(r.URL.Path, "/")
	switch {
	case strings.HasPrefix(path, "_sim/"):
		s.serveSim(w, r, strings.TrimPrefix(path, "_sim/"))
		return
	case path == mediaDownloadPath:
		s.downloadMedia(w, r)
		return
	}
	parts := strings.Split(path, "/")
	if len(parts) < 2 || len(parts) > 3 || !versionPath.MatchString(parts[0]) {
		unknownPath(w, r.URL.Path)
		return
	}
	if e := s.injectFault(r); e != nil {
		e.write(w)
		return
	}
	token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	id := parts[1]
	if len(parts) == 2 {
		switch r.Method {
		case http.MethodGet:
			s.getObject(w, r, id, token)
		case http.MethodDelete:
			s.deleteMedia(w, id, token)
		default:
			unsupported(w, r.Method, id)
		}
		return
	}
	switch edge := parts[2]; {
	case edge == "phone_numbers" && r.Method == http.MethodGet:
		s.wabaPhoneNumbers(w, id, token, r.URL.Query().Get("after"))
	case edge == "messages" && r.Method == http.MethodPost:
		s.postMessage(w, r, id, token)
	case edge == "media" && r.Method == http.MethodPost:
		s.uploadMedia(w, r, id, token)
	case edge == "message_templates":
		s.messageTemplates(w, r, id, token)
	default:
		unknownPath(w, r.URL.Path)
	}
}

// getObject answers GET /{id}: a phone number or a media object, as the
// id names one.
func (s *Simulator) getObject(w http.ResponseWriter, r *http.Request, id, token string) {
	s.mu.Lock()
	_, isMedia := s.media[id]
	s.mu.Unlock()
	if isMedia {
		s.mediaInfo(w, r, id, token)
		return
	}
	s.phoneNumber(w, id, token)
}

func (s *Simulator) phoneNumber(w http.ResponseWriter, id, token string) {
	s.mu.Lock()
	n, ok := s.numbers[id]
	known := s.knowsToken(token)
	var p PhoneNumber
	if ok {
		p = n.PhoneNumber
	}
	s.mu.Unlock()
	switch {
	case token == "" || (ok && n.token != token) || (!ok && !known):
		errInvalidToken().write(w)
	case !ok:
		unsupported(w, http.MethodGet, id)
	default:
		writeJSON(w, p)
	}
}

// simPageSize is how many entries a page of a Graph API listing holds
// unless the request asks for another limit: the Graph API's default.
const simPageSize = 25

// wabaPhoneNumbers lists the numbers of WABA waba by phone number id, a
// page at a time; the cursor after is the index where the page starts.
// Like Meta, it does not tell a WABA that does not exist from one the
// token may not read.
func (s *Simulator) wabaPhoneNumbers(w http.ResponseWriter, waba, token, after string) {
	s.mu.Lock()
	known := s.knowsToken(token)
	var list []PhoneNumber
	readable := false
	for _, n := range s.numbers {
		if n.waba == waba {
			list = append(list, n.PhoneNumber)
			readable = readable || n.token == token
		}
	}
	s.mu.Unlock()
	if token == "" || !known {
		errInvalidToken().write(w)
		return
	}
	if !readable {
		unsupported(w, http.MethodGet, waba)
		return
	}
	slices.SortFunc(list, func(a, b PhoneNumber) int { return strings.Compare(a.ID, b.ID) })
	start := 0
	if after != "" {
		var err error
		if start, err = strconv.Atoi(after); err != nil || start < 0 || start > len(list) {
			errParam("after is not a cursor of this listing").write(w)
			return
		}
	}
	end := min(start+simPageSize, len(list))
	paging := map[string]any{"cursors": map[string]string{"before": strconv.Itoa(start), "after": strconv.Itoa(end)}}
	if end < len(list) {
		paging["next"] = "https://graph.facebook.com/" + waba + "/phone_numbers?after=" + strconv.Itoa(end)
	}
	writeJSON(w, map[string]any{"data": list[start:end], "paging": paging})
}

// knowsToken reports whether token was given for any number; s.mu held.
func (s *Simulator) knowsToken(token string) bool {
	for _, n := range s.numbers {
		if n.token == token {
			return true
		}
	}
	return false
}

// reachesWABA reports whether token was given for a number of waba; s.mu
// held.
func (s *Simulator) reachesWABA(token, waba string) bool {
	for _, n := range s.numbers {
		if n.waba == waba && n.token == token {
			return true
		}
	}
	return false
}

// number finds phone number id for a request with token, which must
// reach its WABA; s.mu held. Like Meta, it does not tell a number that
// does not exist from one the token may not use.
func (s *Simulator) number(id, token, method string) (*simNumber, *simError) {
	if token == "" || !s.knowsToken(token) {
		return nil, errInvalidToken()
	}
	n := s.numbers[id]
	if n == nil || !s.reachesWABA(token, n.waba) {
		return nil, errUnsupported(method, id)
	}
	return n, nil
}

// nextID issues a new number for an id, unique within the simulator and
// not sequential to look at; s.mu held.
func (s *Simulator) nextID() uint64 {
	s.seq++
	return (s.seq ^ s.key) * 0xbf58476d1ce4e5b9
}

// numericID is a new object id of Meta's kind, 16 decimal digits: random
// ones, then the sequence number, which keeps ids unique. s.mu held.
func (s *Simulator) numericID() string {
	s.seq++
	return fmt.Sprintf("%d%05d%010d", 1+s.rng.IntN(9), s.rng.IntN(100_000), s.seq%10_000_000_000)
}

// newWamid is a new wamid for a message to or from waID; s.mu held.
func (s *Simulator) newWamid(waID string, inbound bool) string {
	id := fmt.Sprintf("%02X%s", s.rng.IntN(256), genHex16(s.nextID()))
	if inbound {
		id = "3A" + id
	}
	return encodeWamid(waID, id, inbound)
}

// publicURL is the simulator's URL as r reached it, unless configured.
func (s *Simulator) publicURL(r *http.Request) string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
