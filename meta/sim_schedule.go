package meta

import (
	"container/heap"
	"sync"
	"time"
)

// simScheduler runs the simulator's delayed work (statuses, webhook
// retries, template reviews, customers) at times of the simulator's clock.
// Its goroutine starts with the first job and looks at the clock at least
// every maxSchedulerWait, so that a test clock moved forward is noticed
// without real waiting.
type simScheduler struct {
	now  func() time.Time
	mu   sync.Mutex
	jobs simJobs
	seq  uint64
	poke chan struct{}
	stop chan struct{}
	once sync.Once
	done bool
	wg   sync.WaitGroup
}

const maxSchedulerWait = 20 * time.Millisecond

type simJob struct {
	at  time.Time
	seq uint64 // keeps jobs of the same time in the order they were added
	fn  func()
}

type simJobs []*simJob

func (h simJobs) Len() int { return len(h) }
func (h simJobs) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h simJobs) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *simJobs) Push(x any)   { *h = append(*h, x.(*simJob)) }
func (h *simJobs) Pop() any {
	old := *h
	j := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return j
}

func (q *simScheduler) init(now func() time.Time) {
	q.now = now
	q.poke = make(chan struct{}, 1)
	q.stop = make(chan struct{})
}

// at runs fn at time t (at once if t has passed), in the scheduler's
// goroutine: fn must not block. After close it does nothing.
func (q *simScheduler) at(t time.Time, fn func()) {
	q.mu.Lock()
	if q.done {
		q.mu.Unlock()
		return
	}
	q.seq++
	heap.Push(&q.jobs, &simJob{at: t, seq: q.seq, fn: fn})
	q.mu.Unlock()
	q.once.Do(func() {
		q.wg.Add(1)
		go q.run()
	})
	select {
	case q.poke <- struct{}{}:
	default:
	}
}

// pending is how many jobs wait.
func (q *simScheduler) pending() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.jobs)
}

func (q *simScheduler) run() {
	defer q.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		q.mu.Lock()
		now := q.now()
		var due []func()
		for len(q.jobs) > 0 && !q.jobs[0].at.After(now) {
			due = append(due, heap.Pop(&q.jobs).(*simJob).fn)
		}
		wait := time.Duration(-1)
		if len(q.jobs) > 0 {
			wait = min(q.jobs[0].at.Sub(now), maxSchedulerWait)
		}
		q.mu.Unlock()
		if len(due) > 0 {
			for _, fn := range due {
				select {
				case <-q.stop:
					return
				default:
				}
				fn()
			}
			continue
		}
		var tick <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			tick = timer.C
		}
		select {
		case <-q.stop:
			return
		case <-q.poke:
		case <-tick:
		}
		timer.Stop()
	}
}

// close drops the jobs still waiting and stops the goroutine.
func (q *simScheduler) close() {
	q.mu.Lock()
	if q.done {
		q.mu.Unlock()
		return
	}
	q.done = true
	q.jobs = nil
	q.mu.Unlock()
	close(q.stop)
	q.wg.Wait()
}
