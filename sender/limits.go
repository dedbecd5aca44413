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
	// Margin is the share of a number's messages per second, and of the
	// pair rate, used: Meta counts by its clock, and requests do not
	// arrive exactly as they left.
	Margin float64

	mu      sync.Mutex
	numbers map[string]*numberLimit
	pairs   map[pairKey]*rate.Limiter
	tenants map[string]*tenantLimit
}

type numberLimit struct {
	perSecond int
	lim       *rate.Limiter

	mu     sync.Mutex
	recent []time.Time // departures within the last second, oldest first
}

// departWindow is the span in which a number sends at most its rate: a
// second, and a little more, since requests reach Meta a few milliseconds
// apart from the order and spacing they left in. Evenly spaced sends (the
// token bucket's) never wait for it.
const departWindow = time.Second + 50*time.Millisecond

// depart waits until a send can leave without perSecond others in the
// departWindow before it, and records it. The token bucket spaces sends
// evenly; this holds when a late goroutine would leave right behind the
// next.
func (n *numberLimit) depart(ctx context.Context) error {
	for {
		n.mu.Lock()
		now := time.Now()
		cut := now.Add(-departWindow)
		i := 0
		for i < len(n.recent) && !n.recent[i].After(cut) {
			i++
		}
		n.recent = n.recent[i:]
		if len(n.recent) < n.perSecond {
			n.recent = append(n.recent, now)
			n.mu.Unlock()
			return nil
		}
		wait := n.recent[0].Add(departWindow).Sub(now)
		n.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
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
// without the number's rate of others in the second before it.
func (l *Limits) Depart(ctx context.Context, number string) error {
	l.mu.Lock()
	n := l.numbers[number]
	l.mu.Unlock()
	if n == nil {
		return nil
	}
	return n.depart(ctx)
}

func (l *Limits) limiters(tenant string, perMinute int, number string, perSecond int, to string) (t *rate.Limiter, n *numberLimit, p *rate.Limiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	nl := l.numbers[number]
	if nl == nil || nl.perSecond != perSecond {
		// Burst 1: sends spaced evenly never put more than the rate into
		// any one second.
		nl = &numberLimit{perSecond: perSecond, lim: rate.NewLimiter(rate.Limit(float64(perSecond)*l.Margin), 1)}
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
