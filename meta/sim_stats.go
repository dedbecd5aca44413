package meta

import (
	"maps"
	"net/http"
	"strconv"
)

// simCounters are what the simulator counts as it goes; s.mu guards them.
type simCounters struct {
	accepted         int
	byCallback       map[string]int
	rejected, failed map[int]int
	statuses         map[string]int
	reads, typing    int
	customerMessages int
	templatesCreated int
	mediaUploaded    int
	mediaDownloaded  int
	mediaDeleted     int
}

func (c *simCounters) init() {
	c.byCallback, c.rejected, c.failed, c.statuses = map[string]int{}, map[int]int{}, map[int]int{}, map[string]int{}
}

// SimStats are the simulator's counts, for tests and benchmarks to prove
// that nothing was sent twice and no limit was broken.
type SimStats struct {
	// Accepted is how many messages the simulator accepted.
	Accepted int `json:"accepted"`
	// ByCallback counts accepted messages by their biz_opaque_callback_data:
	// a value above 1 is a message sent twice.
	ByCallback map[string]int `json:"by_callback"`
	// Sends are the accepted messages by wamid (each wamid is issued once).
	Sends map[string]SimSend `json:"sends,omitempty"`
	// Rejected counts refused requests by Meta error code.
	Rejected map[string]int `json:"rejected"`
	// Failed counts accepted messages that failed by webhook, by code.
	Failed map[string]int `json:"failed"`
	// Statuses counts status webhooks made, by status.
	Statuses map[string]int `json:"statuses"`
	// MaxPerSecond is each number's most accepted messages within any one
	// second.
	MaxPerSecond map[string]int `json:"max_per_second"`
	// Reads and Typing count read receipts and typing indicators.
	Reads  int `json:"reads"`
	Typing int `json:"typing"`
	// CustomerMessages counts messages customers wrote.
	CustomerMessages int `json:"customer_messages"`
	// TemplatesCreated counts templates submitted through the API.
	TemplatesCreated int `json:"templates_created"`
	// Media counts uploads, downloads and deletions.
	Media struct {
		Uploaded   int `json:"uploaded"`
		Downloaded int `json:"downloaded"`
		Deleted    int `json:"deleted"`
	} `json:"media"`
	// Scheduled is how much delayed work waits: statuses not yet due,
	// retries, template reviews, the next background customer.
	Scheduled int `json:"scheduled"`
	// Webhooks counts deliveries: taken by wam, attempts, failed attempts,
	// dropped after retrying for RetryFor, and still to be delivered.
	Webhooks struct {
		Delivered int64 `json:"delivered"`
		Attempts  int64 `json:"attempts"`
		Failures  int64 `json:"failures"`
		Dropped   int64 `json:"dropped"`
		Pending   int64 `json:"pending"`
	} `json:"webhooks"`
}

// SimSend is an accepted message as the simulator counted it.
type SimSend struct {
	PhoneNumberID string `json:"phone_number_id"`
	To            string `json:"to"`
	Type          string `json:"type"`
	Callback      string `json:"biz_opaque_callback_data,omitempty"`
}

// Stats returns the simulator's counts so far.
func (s *Simulator) Stats() SimStats {
	return s.snapshot(true)
}

func (s *Simulator) snapshot(withSends bool) SimStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &s.stats
	st := SimStats{
		Accepted: c.accepted, ByCallback: maps.Clone(c.byCallback), Rejected: byCode(c.rejected), Failed: byCode(c.failed),
		Statuses: maps.Clone(c.statuses), MaxPerSecond: map[string]int{}, Reads: c.reads, Typing: c.typing,
		CustomerMessages: c.customerMessages, TemplatesCreated: c.templatesCreated,
	}
	st.Media.Uploaded, st.Media.Downloaded, st.Media.Deleted = c.mediaUploaded, c.mediaDownloaded, c.mediaDeleted
	for id, n := range s.numbers {
		st.MaxPerSecond[id] = n.maxPerSec
	}
	if withSends {
		st.Sends = make(map[string]SimSend, len(s.sends))
		for wamid, m := range s.sends {
			st.Sends[wamid] = SimSend{PhoneNumberID: m.number, To: m.to, Type: m.typ, Callback: m.callback}
		}
	}
	st.Scheduled = s.sched.pending()
	h := &s.hooks
	st.Webhooks.Delivered, st.Webhooks.Attempts, st.Webhooks.Failures = h.delivered.Load(), h.attempts.Load(), h.failures.Load()
	st.Webhooks.Dropped, st.Webhooks.Pending = h.dropped.Load(), h.pending.Load()
	return st
}

func byCode(m map[int]int) map[string]int {
	out := make(map[string]int, len(m))
	for code, n := range m {
		out[strconv.Itoa(code)] = n
	}
	return out
}

// reject counts a refused request by its code and returns e.
func (s *Simulator) reject(e *simError) *simError {
	s.mu.Lock()
	s.stats.rejected[e.code]++
	s.mu.Unlock()
	return e
}

// serveStats answers GET /_sim/stats; ?sends=false leaves the list of
// sends out, which is long after a benchmark.
func (s *Simulator) serveStats(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, s.snapshot(r.URL.Query().Get("sends") != "false"))
}
