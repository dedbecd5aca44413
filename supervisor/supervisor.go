// Package supervisor keeps a service that wam runs itself (the private
// PostgreSQL, the embedded NATS server) running: it looks at the service
// regularly and starts it again, with exponential backoff, when it finds it
// down.
package supervisor

import (
	"context"
	"log/slog"
	"time"
)

// Service is what a Supervisor watches.
type Service struct {
	// Name names the service in log messages, e.g. "private PostgreSQL".
	Name string
	// Check reports why the service is not running, or nil when it is. It
	// is called every Options.Interval and must be cheap: a look at a pid,
	// not a connection.
	Check func() error
	// Start starts the service again and returns once it serves, or why
	// it could not. It must give up when ctx ends.
	Start func(ctx context.Context) error
}

// Options tunes a Supervisor. The zero value is the production setting.
type Options struct {
	// Interval is how often Check is called; default 500ms.
	Interval time.Duration
	// MinBackoff and MaxBackoff bound the wait between attempts to start the
	// service; defaults 500ms and 30s. The wait doubles after each failed
	// attempt, and goes back to MinBackoff once the service has stayed up
	// for MaxBackoff: a service that dies again soon after a restart (a
	// crash loop, a full disk) is restarted ever more slowly.
	MinBackoff, MaxBackoff time.Duration
	// Logger receives every attempt and its outcome; nil discards them.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Interval <= 0 {
		o.Interval = 500 * time.Millisecond
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Supervisor watches one Service in a goroutine of its own.
type Supervisor struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Start supervises svc until ctx ends or Stop is called.
func Start(ctx context.Context, svc Service, opts Options) *Supervisor {
	ctx, cancel := context.WithCancel(ctx)
	s := &Supervisor{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		run(ctx, svc, opts.withDefaults())
	}()
	return s
}

// Stop ends supervision and returns once the supervisor has stopped,
// cancelling an attempt to start the service that is under way. Stop the
// supervisor before stopping the service, or it starts the service again.
func (s *Supervisor) Stop() {
	s.cancel()
	<-s.done
}

// Done is closed once the supervisor has stopped.
func (s *Supervisor) Done() <-chan struct{} { return s.done }

func run(ctx context.Context, svc Service, o Options) {
	log := o.Logger.With("service", svc.Name)
	backoff := o.MinBackoff // the wait before the next attempt that must wait
	var upSince time.Time   // when the service last came back; zero: backoff is reset
	tick := time.NewTicker(o.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		down := svc.Check()
		if down == nil {
			if !upSince.IsZero() && time.Since(upSince) >= o.MaxBackoff {
				backoff, upSince = o.MinBackoff, time.Time{}
				log.Debug(svc.Name+" has stayed up; the backoff starts over", "backoff", backoff.String())
			}
			continue
		}
		log.Warn(svc.Name+" is not running; starting it again", "reason", down.Error())
		// The first attempt after a long healthy run is made at once; one
		// soon after the last restart waits, so that a crash loop slows down.
		wait := !upSince.IsZero()
		for attempt := 1; ; attempt++ {
			if wait {
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, o.MaxBackoff)
			}
			wait = true
			if svc.Check() == nil {
				log.Warn(svc.Name+" is running again, started by someone else", "attempt", attempt)
				break
			}
			log.Warn("starting "+svc.Name, "attempt", attempt)
			began := time.Now()
			err := svc.Start(ctx)
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				log.Error(svc.Name+" did not start", "attempt", attempt, "retry_in", backoff.String(), "err", err.Error())
				continue
			}
			log.Warn(svc.Name+" started again", "attempt", attempt, "took", time.Since(began).Round(time.Millisecond).String())
			break
		}
		upSince = time.Now()
	}
}
