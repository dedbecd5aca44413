package meta

import (
	"encoding/json"
	"slices"
	"testing"
	"time"
)

func TestSimWebhookRetriedUntilTaken(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{RetryBase: time.Millisecond, RetryMax: 4 * time.Millisecond})
	e.hooks.mu.Lock()
	e.hooks.failFirst = 4 // the immediate retry, then three with back-off
	e.hooks.mu.Unlock()
	wamid := e.openWindow(t, testCustomer)
	// The simulator counts a delivery when the 200 reaches it, after the
	// receiver has the webhook.
	waitFor(t, "the webhook to be taken, and counted", func() bool {
		return e.hooks.message(wamid) != nil && e.sim.Stats().Webhooks.Pending == 0
	})
	st := e.sim.Stats().Webhooks
	e.hooks.mu.Lock()
	defer e.hooks.mu.Unlock()
	if e.hooks.requests != 5 || e.hooks.badSigs != 0 || st.Attempts != 5 || st.Failures != 4 || st.Delivered != 1 || st.Pending != 0 {
		t.Errorf("%d requests, %d bad signatures; stats %+v", e.hooks.requests, e.hooks.badSigs, st)
	}
}

func TestSimWebhookDroppedAfterRetryFor(t *testing.T) {
	t.Parallel()
	clock := newFakeClock()
	e := newSimEnv(t, SimOptions{Now: clock.Now, RetryBase: time.Hour, RetryMax: 24 * time.Hour})
	e.hooks.mu.Lock()
	e.hooks.failFirst = 1 << 30 // wam is down for good
	e.hooks.mu.Unlock()
	e.openWindow(t, testCustomer)
	waitFor(t, "two attempts (the second at once)", func() bool { return e.sim.Stats().Webhooks.Attempts == 2 })
	// Each retry waits on the clock; move it on until Meta gives up.
	waitFor(t, "the webhook to be dropped", func() bool {
		clock.Advance(12 * time.Hour)
		return e.sim.Stats().Webhooks.Dropped == 1
	})
	st := e.sim.Stats().Webhooks
	if st.Pending != 0 || st.Delivered != 0 || st.Attempts < 3 {
		t.Errorf("stats %+v", st)
	}
}

// Statuses that fall due while every delivery worker is busy come
// together, in one webhook of their number (Meta batches up to 1,000
// updates a payload); each status still comes exactly once.
func TestSimStatusesBatchedWhileDeliveriesWait(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{WebhookWorkers: 1, FailShare: 0})
	gate := make(chan struct{})
	e.hooks.mu.Lock()
	e.hooks.gate = gate
	e.hooks.mu.Unlock()
	e.openWindow(t, testCustomer) // its webhook holds the one worker
	var sent []string
	for range 5 {
		res, err := e.send(t, textTo(testCustomer))
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, res.MessageID)
	}
	waitFor(t, "every status due", func() bool { return e.sim.Stats().Scheduled == 0 })
	close(gate)
	waitFor(t, "every webhook taken", func() bool { return e.sim.Stats().Webhooks.Pending == 0 })
	for _, wamid := range sent {
		if got := statusNames(e.hooks, wamid); !slices.Equal(got, []string{"sent", "delivered", "read"}) {
			t.Errorf("%s: statuses %v, want sent, delivered, read once each", wamid, got)
		}
	}
	most := 0
	for _, w := range e.hooks.received() {
		for _, en := range w.Entry {
			for _, c := range en.Changes {
				most = max(most, len(c.Value.Statuses))
			}
		}
	}
	if got := len(e.hooks.received()); most < 2 || got >= 1+3*len(sent) {
		t.Errorf("%d webhooks for the message and %d statuses, at most %d statuses in one: none batched", got, 3*len(sent), most)
	}
}

// statusNames are the statuses of wamid as they came.
func statusNames(k *webhookSink, wamid string) []string {
	var out []string
	for _, st := range k.statuses(wamid) {
		out = append(out, jsonStr(st["status"]))
	}
	return out
}

func TestSimStatusesFlow(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts SimOptions
		want []string
	}{
		{"sent delivered read", SimOptions{}, []string{"sent", "delivered", "read"}},
		{"unread", SimOptions{UnreadShare: 1}, []string{"sent", "delivered"}},
		{"out of order", SimOptions{OutOfOrderShare: 1}, []string{"read", "delivered", "sent"}},
		{"failed", SimOptions{FailShare: 1, FailCode: 131049}, []string{"sent", "failed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.WebhookWorkers = 1 // one at a time, so arrival order is dispatch order
			tc.opts.SentAfter, tc.opts.DeliveredAfter, tc.opts.ReadAfter = time.Millisecond, time.Millisecond, time.Millisecond
			e := newSimEnv(t, tc.opts)
			e.openWindow(t, testCustomer)
			m := textTo(testCustomer)
			m["biz_opaque_callback_data"] = "wam-42"
			r, err := e.send(t, m)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the statuses", func() bool { return len(e.hooks.statuses(r.MessageID)) == len(tc.want) })
			if got := statusNames(e.hooks, r.MessageID); !slices.Equal(got, tc.want) {
				t.Errorf("statuses %v, want %v", got, tc.want)
			}
			var times []string
			for _, st := range e.hooks.statuses(r.MessageID) {
				times = append(times, jsonStr(st["timestamp"]))
				if jsonStr(st["recipient_id"]) != testCustomer || jsonStr(st["biz_opaque_callback_data"]) != "wam-42" {
					t.Errorf("status %s", st)
				}
				switch jsonStr(st["status"]) {
				case "failed":
					var errs []struct {
						Code      int `json:"code"`
						ErrorData struct {
							Details string `json:"details"`
						} `json:"error_data"`
					}
					if json.Unmarshal(st["errors"], &errs) != nil || len(errs) != 1 || errs[0].Code != 131049 || errs[0].ErrorData.Details == "" {
						t.Errorf("failed status without its error: %s", st)
					}
				default:
					var p struct {
						Category string `json:"category"`
						Billable bool   `json:"billable"`
					}
					var c struct {
						ID string `json:"id"`
					}
					if json.Unmarshal(st["pricing"], &p) != nil || p.Category != "service" || p.Billable ||
						json.Unmarshal(st["conversation"], &c) != nil || c.ID == "" {
						t.Errorf("status without pricing or conversation: %s", st)
					}
				}
			}
			if tc.name == "out of order" && !slices.IsSortedFunc(times, func(a, b string) int { return -compareNumbers(a, b) }) {
				t.Errorf("out of order delivery keeps each status's own time: %v", times)
			}
		})
	}
}

func compareNumbers(a, b string) int {
	if len(a) != len(b) {
		return len(a) - len(b)
	}
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

func TestSimStatusDuplicated(t *testing.T) {
	t.Parallel()
	e := newSimEnv(t, SimOptions{DuplicateShare: 1, UnreadShare: 1})
	e.openWindow(t, testCustomer)
	r, err := e.send(t, textTo(testCustomer))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "three statuses", func() bool { return len(e.hooks.statuses(r.MessageID)) == 3 })
	got := statusNames(e.hooks, r.MessageID)
	slices.Sort(got)
	if got = slices.Compact(got); !slices.Equal(got, []string{"delivered", "sent"}) {
		t.Errorf("statuses %v: sent and delivered, one of them twice", got)
	}
	if n := e.sim.Stats().Statuses; n["sent"]+n["delivered"] != 3 {
		t.Errorf("stats count statuses %v", n)
	}
}
