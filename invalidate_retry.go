package caching

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Invalidations that fail are retried. A write under InvalidateOnWrite (or
// SharedCache) invalidates the paths it touched as its response goes out,
// and a program calls InvalidateTags, InvalidatePath, Forget or ForgetAll
// after it changed its data; when the backend is down then, the change has
// still happened, and what was stored before it would be served again,
// stale, once the backend is back, until its TTL ends. So the version keys that
// could not be deleted wait in a set, and a goroutine deletes them once the
// backend answers: first after retryFirst, then twice as long each time, at
// most retryMax apart, unless a call to the backend succeeds meanwhile (see
// retryWake): the backend answers again, and the invalidation is retried at
// once rather than at the end of its back-off, during which what it ends
// would be served. Deleting a version key again, or after a newer response
// was stored under a new version, only costs a miss.
//
// The set holds at most maxPendingInvalidations keys: past it, a failed
// invalidation (already counted in Stats.Errors) is not retried, so that a
// client cannot make the set grow without bound; that is logged once until
// the set empties. Close drops the set.
const (
	maxPendingInvalidations = 4096
	retryFirst              = 100 * time.Millisecond
	retryMax                = 5 * time.Second
)

// pendingInvalidations is the set of version keys to delete again.
type pendingInvalidations struct {
	mu      sync.Mutex
	keys    map[string]struct{}
	running bool // a retry goroutine owns the set
	full    bool // an invalidation was dropped since the set was last empty
}

// len is the number of keys waiting (Stats.PendingInvalidations).
func (p *pendingInvalidations) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.keys)
}

// retryWake wakes the retry goroutine while it waits after a failure: the
// first backend call that succeeds then (store.report calls answered) says
// the backend answers again. Only a wait after a retry that the timer began
// (or after the failure that started the goroutine) is cut short: when one
// that a wake-up began fails too (the backend answers some calls, such as
// reads, and not the deletes), the next waits its whole back-off, so that
// retries never come faster than twice per back-off whatever the traffic.
type retryWake struct {
	// armed: the goroutine waits for a wake-up. A call that finds it
	// false pays this one atomic load.
	armed atomic.Bool
	// ch (capacity 1) wakes the goroutine. Made by the first goroutine
	// before it first sets armed, and never changed: a caller that finds
	// armed set may use it.
	ch chan struct{}
}

// answered is a backend call's report that it succeeded.
func (w *retryWake) answered() {
	if w.armed.Load() && w.armed.CompareAndSwap(true, false) {
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

// disarm stops waking and drops a wake-up not taken. Only the retry
// goroutine calls it.
func (w *retryWake) disarm() {
	w.armed.Store(false)
	select {
	case <-w.ch:
	default:
	}
}

// retryInvalidation adds keys, whose deletion failed with err, to the set,
// and starts the goroutine that retries them if none runs. op names the
// caller in the log.
func (c *Cache) retryInvalidation(op string, keys []string, err error) {
	if errors.Is(err, ErrClosed) || c.life.Err() != nil {
		return
	}
	p := &c.pending
	p.mu.Lock()
	if p.keys == nil {
		p.keys = make(map[string]struct{})
	}
	dropped := 0
	for _, k := range keys {
		if _, ok := p.keys[k]; !ok && len(p.keys) >= maxPendingInvalidations {
			dropped++
			continue
		}
		p.keys[k] = struct{}{}
	}
	logDrop := dropped > 0 && !p.full
	p.full = p.full || dropped > 0
	start := !p.running && len(p.keys) > 0
	p.running = p.running || start
	p.mu.Unlock()
	if logDrop {
		c.log.LogAttrs(context.Background(), slog.LevelError, "caching: invalidation retry set full, invalidations dropped until it empties",
			slog.String("op", op), slog.Int("max", maxPendingInvalidations), slog.String("error", err.Error()))
	}
	if start && !c.goBackground(c.retryInvalidations) {
		p.mu.Lock() // closed meanwhile: nothing waits after Close
		p.keys, p.running, p.full = nil, false, false
		p.mu.Unlock()
	}
}

// retryInvalidations deletes the pending keys until none is left or the
// Cache is closed.
func (c *Cache) retryInvalidations() {
	p := &c.pending
	w := &c.store.wake
	if w.ch == nil { // the goroutines run one at a time (p.running)
		w.ch = make(chan struct{}, 1)
	}
	w.disarm() // a wake-up sent as the goroutine before ended
	wait := retryFirst
	timer := time.NewTimer(wait)
	defer timer.Stop()
	arm := true // the invalidation that started it failed
	for {
		w.armed.Store(arm)
		woken := false
		select {
		case <-c.life.Done():
			p.mu.Lock()
			p.keys, p.running, p.full = nil, false, false
			p.mu.Unlock()
			return
		case <-timer.C:
		case <-w.ch:
			woken = true
		}
		w.disarm()
		p.mu.Lock()
		keys := slices.Collect(maps.Keys(p.keys))
		p.mu.Unlock()
		ctx, cancel := c.store.bound(c.life)
		err := c.store.invalidate(ctx, keys)
		cancel()
		p.mu.Lock()
		if err == nil {
			for _, k := range keys {
				delete(p.keys, k) // keys added meanwhile stay for the next round
			}
			wait = retryFirst
		} else {
			wait = min(2*wait, retryMax)
		}
		arm = err == nil || !woken
		if len(p.keys) == 0 {
			p.running, p.full = false, false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		timer.Reset(wait)
	}
}

// invalidateRetried deletes keys (version keys, or memoized entries, which
// deleting again later only turns into misses) for op; when that fails, the
// error is returned and the keys wait in the retry set.
func (c *Cache) invalidateRetried(ctx context.Context, op string, keys []string) error {
	err := c.store.invalidate(ctx, keys)
	if err != nil {
		c.retryInvalidation(op, keys, err)
	}
	return err
}
