package meta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// simDelivery sends the simulator's webhooks to SimOptions.WebhookURL,
// signed with the app secret as Meta signs them, from a few workers. A
// webhook that gets no 2xx answer (or none in time) is delivered again at
// once, then after RetryBase doubling up to RetryMax, and dropped after
// RetryFor: at least once and in no particular order, as Meta delivers.
//
// Statuses are batched as Meta batches them: the statuses of one number
// that are due while every worker is busy go together in one webhook, up
// to maxStatusesPerHook; one due while a worker is free goes alone.
type simDelivery struct {
	s     *Simulator
	queue chan *simHook
	stop  chan struct{}

	statusMu sync.Mutex
	statuses map[statusSource][]statusUpdate // due, waiting for a worker; a hook of the source is queued

	mu      sync.Mutex // guards started and closed, and wg.Add against wg.Wait
	started bool
	closed  bool
	wg      sync.WaitGroup // workers and senders waiting for room in the queue

	delivered, attempts, failures, dropped, pending atomic.Int64
}

// simHook is one webhook body on its way, or, until a worker takes it,
// the statuses of source that are due.
type simHook struct {
	body     []byte
	source   *statusSource
	first    time.Time // of the first attempt
	attempts int
}

// statusSource is the number a status webhook comes from.
type statusSource struct{ waba, display, pnid string }

// maxStatusesPerHook is the most statuses one webhook carries: Meta
// batches up to 1,000 updates in a payload.
const maxStatusesPerHook = 1000

func (d *simDelivery) init(s *Simulator) {
	d.s = s
	d.queue = make(chan *simHook, 1024)
	d.stop = make(chan struct{})
	d.statuses = map[statusSource][]statusUpdate{}
}

// sendStatus queues status update u of source's number for delivery, in a
// webhook with the others of that number due by the time a worker takes
// it.
func (d *simDelivery) sendStatus(source statusSource, u statusUpdate) {
	if d.s.opts.WebhookURL == "" {
		return
	}
	d.statusMu.Lock()
	due, queued := d.statuses[source]
	d.statuses[source] = append(due, u)
	d.statusMu.Unlock()
	if !queued {
		d.pending.Add(1)
		d.enqueue(&simHook{source: &source})
	}
}

// statusBody takes the statuses of source due now, up to
// maxStatusesPerHook, into one webhook body; any left over get a hook of
// their own.
func (d *simDelivery) statusBody(source statusSource) []byte {
	d.statusMu.Lock()
	due := d.statuses[source]
	take := due[:min(len(due), maxStatusesPerHook)]
	if rest := due[len(take):]; len(rest) > 0 {
		d.statuses[source] = rest
		d.pending.Add(1)
		go d.enqueue(&simHook{source: &source}) // not from a worker: the queue may be full
	} else {
		delete(d.statuses, source)
	}
	d.statusMu.Unlock()
	return messagesEnvelope(source.waba, source.display, source.pnid, func(v *genObject) {
		v.array("statuses", func(a *genArray) {
			for _, u := range take {
				a.object(func(o *genObject) { writeStatus(o, u) })
			}
		})
	})
}

// send queues body for delivery. Without a webhook URL there is nobody to
// deliver to and the body is dropped. It blocks while the queue is full,
// which slows the scheduler down to the pace wam takes webhooks at.
func (d *simDelivery) send(body []byte) {
	if d.s.opts.WebhookURL == "" {
		return
	}
	d.pending.Add(1)
	d.enqueue(&simHook{body: body})
}

func (d *simDelivery) enqueue(h *simHook) {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return
	}
	if !d.started {
		d.started = true
		for range d.s.opts.WebhookWorkers {
			d.wg.Add(1)
			go d.work()
		}
	}
	d.wg.Add(1)
	d.mu.Unlock()
	defer d.wg.Done()
	select {
	case d.queue <- h:
	case <-d.stop:
	}
}

func (d *simDelivery) work() {
	defer d.wg.Done()
	for {
		select {
		case <-d.stop:
			return
		case h := <-d.queue:
			if h.source != nil {
				h.body, h.source = d.statusBody(*h.source), nil
			}
			d.attempt(h)
		}
	}
}

// attempt delivers h once and, when that fails, schedules the next try.
func (d *simDelivery) attempt(h *simHook) {
	s := d.s
	now := s.now()
	if h.attempts == 0 {
		h.first = now
	}
	h.attempts++
	d.attempts.Add(1)
	err := d.post(h.body)
	if err == nil {
		d.delivered.Add(1)
		d.pending.Add(-1)
		return
	}
	d.failures.Add(1)
	next := now.Add(d.backoff(h.attempts))
	if next.Sub(h.first) > s.opts.RetryFor {
		d.dropped.Add(1)
		d.pending.Add(-1)
		s.log.Warn("webhook dropped after retrying", "attempts", h.attempts, "error", err)
		return
	}
	s.log.Debug("webhook delivery failed; retrying", "attempt", h.attempts, "error", err)
	s.sched.at(next, func() {
		// From a goroutine of its own: the scheduler must not block on a
		// full queue that the workers themselves fill.
		go d.enqueue(h)
	})
}

// backoff is the wait before the attempt after the failed one n: none
// after the first, then RetryBase doubling to RetryMax.
func (d *simDelivery) backoff(n int) time.Duration {
	if n <= 1 {
		return 0
	}
	wait := d.s.opts.RetryBase
	for i := 2; i < n && wait < d.s.opts.RetryMax; i++ {
		wait *= 2
	}
	return min(wait, d.s.opts.RetryMax)
}

// post makes one delivery; nil means wam took the webhook (2xx).
func (d *simDelivery) post(body []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-d.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.s.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set("X-Hub-Signature-256", Sign(body, d.s.opts.AppSecret))
	resp, err := d.s.opts.HTTPClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook answered HTTP %d", resp.StatusCode)
	}
	return nil
}

// close stops the workers and drops what is still to be delivered.
func (d *simDelivery) close() {
	d.mu.Lock()
	if !d.closed {
		d.closed = true
		close(d.stop)
	}
	d.mu.Unlock()
	d.wg.Wait()
}
