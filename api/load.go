package api

import (
	"sync"
	"time"
)

// Load measures how fast webhooks arrive, so that work which can wait
// (projecting them into read models) gives way to work which cannot
// (storing and acknowledging them while Meta waits). It counts webhooks in
// 100 ms windows.
type Load struct {
	busyRate int // webhooks per second from which the machine counts as busy
	now      func() time.Time

	mu     sync.Mutex
	window int64 // current window number
	count  int   // webhooks in the current window
	prev   int   // webhooks in the window before it
}

const loadWindow = 100 * time.Millisecond

// BurstRate is the webhook rate from which wam serve counts the machine as
// busy. Two cores take about 5,000 webhooks/s for as long as they come
// while projecting them too (README, "Ingest"): below that, holding the
// projector back buys acks nothing and only delays the inbox (at 2,000/s
// it added up to a second to what agents see live); above it, in a
// burst, acks get the cores first.
const BurstRate = 5000

// NewLoad returns a Load that reports busy from busyRate webhooks per second.
func NewLoad(busyRate int, now func() time.Time) *Load {
	return &Load{busyRate: busyRate, now: now}
}

// hit counts one webhook.
func (l *Load) hit() {
	w := l.now().UnixNano() / int64(loadWindow)
	l.mu.Lock()
	l.roll(w)
	l.count++
	l.mu.Unlock()
}

// Busy reports whether the last complete window saw webhooks at busyRate or
// more per second.
func (l *Load) Busy() bool {
	w := l.now().UnixNano() / int64(loadWindow)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.roll(w)
	return l.prev*int(time.Second/loadWindow) >= l.busyRate
}

func (l *Load) roll(w int64) {
	switch {
	case w == l.window:
	case w == l.window+1:
		l.window, l.prev, l.count = w, l.count, 0
	default:
		l.window, l.prev, l.count = w, 0, 0
	}
}
