package sender

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limits are the rates the sender keeps to, below Meta's: per phone number
// its messages per second, per recipient of a number the pair rate, per
// tenant its plan's messages per minute. One sender is active at a time
// (see Sender), so keeping them in memory keeps them across processes.
type Limits struct {
	// PairRate is the most messages a second to one recipient from one
	// number, after PairBurst; Meta allows about one every 6 s.
	PairRate  float64
	PairBurst int
	// Margin is the share of the pair rate used: Meta's is "about" one
	// every 6 s. A number's rate is kept exactly (numberLimit.depart).
	Margin float64

	mu      sync.Mutex
	numbers map[string]*numberLimit
	pairs   map[pairKey]*rate.Limiter
	tenants map[string]*tenantLimit
}

type numberLimit struct {
	perSecond int
	lim       *rate.Limiter

	mu      sync.Mutex
	recent  []*flight     // sends that may be in Meta's last second
	settled chan struct{} // closed, and replaced, when one of them settles
}

// flight is one send from departure until its answer: Meta counted it at
// some moment between the two, which the sender cannot see.
type flight struct {
	answered time.Time // zero while the call is out
}

// depart waits until a send can leave with fewer than perSecond others
// that Meta may count in any one second with it, and records it; settle
// is to be called when its call returns. A send may reach Meta at any
// moment between leaving and its answer, so one answered at a is counted
// until a + 1 s, and one still out is counted. However late requests
// arrive, then, no second of Meta's clock holds more than perSecond of
// them. The cost is the answer time: a number sends at most perSecond
// every second plus the time Meta takes to answer.
func (n *numberLimit) depart(ctx context.Context) (settle func(), err error) {
	for {
		f, free, settled := n.admit(time.Now())
		if f != nil {
			return func() { n.answer(f, time.Now()) }, nil
		}
		var timer *time.Timer
		var timeout <-chan time.Time
		if !free.IsZero() {
			timer = time.NewTimer(time.Until(free))
			timeout = timer.C
		}
		select {
		case <-ctx.Done():
			err = ctx.Err()
		case <-timeout:
		case <-settled:
		}
		if timer != nil {
			timer.Stop()
		}
		if err != nil {
			return nil, err
		}
	}
}

// admit records a send leaving at now, if it may. Otherwise it tells when
// an answered send stops counting (zero if none is answered) and a channel
// closed when one of those out is answered.
func (n *numberLimit) admit(now time.Time) (f *flight, free time.Time, settled <-chan struct{}) {
	n.mu.Lock()
	defer n.mu.Unlock()
	cut := now.Add(-time.Second)
	kept := n.recent[:0]
	for _, f := range n.recent {
		if f.answered.IsZero() || f.answered.After(cut) {
			kept = append(kept, f)
			if at := f.answered.Add(time.Second); !f.answered.IsZero() && (free.IsZero() || at.Before(free)) {
				free = at
			}
		}
	}
	clear(n.recent[len(kept):])
	n.recent = kept
	if len(n.recent) < n.perSecond {
		f = &flight{}
		n.recent = append(n.recent, f)
		return f, time.Time{}, nil
	}
	if n.settled == nil {
		n.settled = make(chan struct{})
	}
	return nil, free, n.settled
}

// answer records that f's call returned at.
func (n *numberLimit) answer(f *flight, at time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	f.answered = at
	if n.settled != nil {
		close(n.settled)
		n.settled = nil
	}
}

type tenantLimit struct {
	perMinute int
	lim       *rate.Limiter
}

type pairKey struct{ number, to string }

// NewLimits returns Limits with Meta's defaults where o leaves a value zero.
func NewLimits(pairRate float64, pairBurst int) *Limits {
	if pairRate <= 0 {
		pairRate = 1.0 / 6
	}
	if pairBurst <= 0 {
		pairBurst = 45
	}
	return &Limits{PairRate: pairRate, PairBurst: pairBurst, Margin: 0.97,
		numbers: map[string]*numberLimit{}, pairs: map[pairKey]*rate.Limiter{}, tenants: map[string]*tenantLimit{}}
}

// Wait blocks until a message from number (at perSecond) to recipient to,
// of tenant (at perMinute), may go, or ctx ends. Depart comes last, right
// before the call.
func (l *Limits) Wait(ctx context.Context, tenant string, perMinute int, number string, perSecond int, to string) error {
	t, n, p := l.limiters(tenant, perMinute, number, perSecond, to)
	// The pair first: waiting for it must not hold the number's tokens.
	if err := p.Wait(ctx); err != nil {
		return err
	}
	if err := t.Wait(ctx); err != nil {
		return err
	}
	return n.lim.Wait(ctx)
}

// Depart waits, right before a send from number leaves, until it can leave
// with fewer than the number's rate of others that Meta may count in the
// same second (numberLimit.depart); settle is to be called when the call
// returns.
func (l *Limits) Depart(ctx context.Context, number string) (settle func(), err error) {
	l.mu.Lock()
	n := l.numbers[number]
	l.mu.Unlock()
	if n == nil {
		return func() {}, nil
	}
	return n.depart(ctx)
}

func (l *Limits) limiters(tenant string, perMinute int, number string, perSecond int, to string) (t *rate.Limiter, n *numberLimit, p *rate.Limiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	nl := l.numbers[number]
	if nl == nil || nl.perSecond != perSecond {
		// Burst 1: the sends of a second go evenly spaced, not all at
		// once at its start.
		nl = &numberLimit{perSecond: perSecond, lim: rate.NewLimiter(rate.Limit(perSecond), 1)}
		l.numbers[number] = nl
	}
	tl := l.tenants[tenant]
	if tl == nil || tl.perMinute != perMinute {
		tl = &tenantLimit{perMinute: perMinute, lim: rate.NewLimiter(rate.Limit(float64(perMinute)/60), max(1, perMinute/60))}
		l.tenants[tenant] = tl
	}
	k := pairKey{number, to}
	pl := l.pairs[k]
	if pl == nil {
		pl = rate.NewLimiter(rate.Limit(l.PairRate*l.Margin), l.PairBurst)
		l.pairs[k] = pl
	}
	return tl.lim, nl, pl
}

// Forget drops the pair limiters idle long enough to be full again, so that
// memory follows the recipients of the last while.
func (l *Limits) Forget(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, p := range l.pairs {
		if p.TokensAt(now) >= float64(l.PairBurst) {
			delete(l.pairs, k)
		}
	}
}
