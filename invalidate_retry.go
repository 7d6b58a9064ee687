package caching

import (
	"context"
	"errors"
	"iter"
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
// A retry deletes the keys retryChunk at a time, each chunk under its own
// Options.Timeout (see retryKeys), and removes a chunk's keys from the set
// as soon as its delete has landed: deleting thousands of keys in one call
// can take longer than Timeout (memcached makes one round trip per key),
// and would then fail on every retry of a healthy backend, for ever, each
// failure counted by the breaker. A chunk that fails ends the retry; the
// keys it and the chunks after it hold wait for the next.
//
// Until its retry has deleted a key, a lookup of an entry under that key, or
// written under a tag whose version key it is, is a miss (see
// pendingInvalidations.mark): between the backend answering reads again
// and the retry's deletes landing, the entry and the versions it was
// written under are all still there, and would be served as a hit. For the
// same reason, a view's waiters are not handed the response of a run that
// began before an invalidation of their keys failed (see
// pendingInvalidations.addedSince): the versions it read still read as
// current.
//
// A key is added again when another invalidation of it fails while a retry
// deletes it: each add gives it a new generation, and a retry removes a key
// only if its generation is the one it deleted, so that a failure after the
// retry's delete landed is retried too.
//
// The set holds at most maxPendingInvalidations keys, and at most
// maxPendingInvalidationBytes of them, so that a client (writes to made-up
// paths during an outage, or tags made of what it sent: the legacy key of
// a long tag is the whole tag, see appendLegacyTagKeys) cannot make it grow
// without bound. The keys a view, Memoize or a tag of at most
// maxReadableKey bytes adds are about 250 bytes long (with a short
// KeyPrefix), and fill the count long before the bytes. An invalidation is
// never lost silently, though: once a key could not be added (the set
// overflowed, logged once until it is resolved), the
// keys that did not fit are unknown, and so every lookup is a miss (see
// ends; the backend was failing anyway), and a view's waiters are handed no
// run that began before (see addedSince), until the retry has cleared the
// backend's namespace (store.clear, as Cache.Clear does; memcached moves to
// a new namespace generation), which ends whatever an invalidation that was
// not kept would have ended, in every process that shares the backend. The
// clear is bounded by retryClearTimeout rather than Options.Timeout: on
// Redis it scans the database.
//
// Close makes one last attempt at what the set holds (see
// closeInvalidations), bounded by closeWait times Options.Timeout, then
// drops what is left, logging at ERROR how many keys it dropped.
const (
	maxPendingInvalidations     = 4096
	maxPendingInvalidationBytes = 4 << 20
	retryMax                    = 5 * time.Second
	retryClearTimeout           = time.Minute
	retryChunk                  = 256
)

// retryFirst is the first wait of the retry goroutine, and its wait after a
// retry that landed. It is a variable only so that a test can make the
// back-off much longer than its bounds (setRetryFirst); nothing else sets it.
var retryFirst = 100 * time.Millisecond

// pendingInvalidations is the set of version keys (or memoized entries) to
// delete again.
type pendingInvalidations struct {
	mu sync.RWMutex
	// keys maps each key to its generation: the value of adds when it was
	// last added.
	keys    map[string]uint64
	running bool // a retry goroutine owns the set
	// bytes is the sum of the lengths of keys' keys.
	bytes int
	// overflow is not 0 while an invalidation that did not fit in the set
	// waits for the clear that ends it: the generation (a value of adds)
	// of the last one that did not fit.
	overflow uint64

	// size is len(keys), or 1 when keys is empty while overflow is set (a
	// clear waits), set under mu: a lookup that finds it 0 pays this one
	// atomic load.
	size atomic.Int64
	// landed counts, under mu, the retries whose deletes landed (and Close
	// dropping the set): a lookup that read while one landed may have read
	// what it deleted.
	landed atomic.Uint64
	// adds counts, under mu, the adds of keys (each key's generation).
	adds atomic.Uint64
}

// len is the number of keys waiting (Stats.PendingInvalidations).
func (p *pendingInvalidations) len() int { return int(p.size.Load()) }

// counted sets size after keys or overflow changed; under mu.
func (p *pendingInvalidations) counted() {
	n := int64(len(p.keys))
	if n == 0 && p.overflow != 0 {
		n = 1
	}
	p.size.Store(n)
}

// mark is what a lookup must know of the set, taken before it reads the
// entry and its versions: 0 when the set is empty (then no invalidation
// that failed before the read can end what it reads), else a number for
// ends. It costs one atomic load when the set is empty.
func (p *pendingInvalidations) mark() uint64 {
	if p.size.Load() == 0 {
		return 0
	}
	return p.landed.Load() + 1
}

// ends reports whether an entry read under key after the mark m (not 0),
// written under the tag keys tags, may be ended by an invalidation that
// failed: one of those keys waits in the set, the set overflowed (any key
// may be one that did not fit), or a retry's deletes landed while the
// lookup read (it may have read what they deleted). The lookup treats the
// entry as a miss.
func (p *pendingInvalidations) ends(m uint64, key string, tags []string) bool {
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.landed.Load()+1 != m || p.overflow != 0 {
		return true
	}
	if _, ok := p.keys[key]; ok {
		return true
	}
	for _, k := range tags {
		if _, ok := p.keys[k]; ok {
			return true
		}
	}
	return false
}

// waits reports whether a delete of key waits for its retry: key is in the
// set, or the set overflowed (it may be one that did not fit), so that a
// retry deletes it, or clears the namespace, later. False once the retry's
// delete of it (or the clear) landed, or Close dropped the set.
func (p *pendingInvalidations) waits(key string) bool {
	if p.size.Load() == 0 {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, ok := p.keys[key]
	return ok || p.overflow != 0
}

// pendingSince is the state of the set when a handler run began, for
// addedSince.
type pendingSince struct{ adds, landed uint64 }

// since returns the state of the set now, for addedSince.
func (p *pendingInvalidations) since() pendingSince {
	return pendingSince{p.adds.Load(), p.landed.Load()}
}

// addedSince reports whether the invalidation of one of keys may have
// failed after s was taken: one of them was added to the set since, or
// did not fit in it since (the set overflowed: it may be any key), or a
// retry landed since an add (it may have removed one of them). A response
// made by a run that began at s may then predate a write, although the
// versions it read are still there. It costs one atomic load when nothing
// was added since s.
func (p *pendingInvalidations) addedSince(s pendingSince, keys []string) bool {
	if p.adds.Load() == s.adds {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	if p.landed.Load() != s.landed || p.overflow > s.adds {
		return true
	}
	for _, k := range keys {
		if g, ok := p.keys[k]; ok && g > s.adds {
			return true
		}
	}
	return false
}

// deleted removes keys, whose deletes (or the clear of the namespace)
// landed, from the set, each only if its generation is still the one in
// gens: a key added again meanwhile (its delete may have landed before the
// invalidation that failed) stays for the next retry. It counts the landing
// for the lookups that read meanwhile (see ends); under mu.
func (p *pendingInvalidations) deleted(keys iter.Seq[string], gens map[string]uint64) {
	for k := range keys {
		if g, ok := p.keys[k]; ok && g == gens[k] {
			delete(p.keys, k)
			p.bytes -= len(k)
		}
	}
	p.landed.Add(1)
	p.counted()
}

// drop empties the set and ends its retries (Close); under mu.
func (p *pendingInvalidations) drop() {
	p.keys, p.bytes, p.running, p.overflow = nil, 0, false, 0
	p.landed.Add(1)
	p.counted()
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
// caller in the log. A failure with ErrClosed while the Cache is open (a
// wrapper's, or a backend its user closed) is retried as any other: until
// it lands, the entries it was to end are served by the other processes
// sharing the backend; the retry set's bounds and back-off apply (one
// call per retryMax while the backend stays closed, which the breaker
// does not count: store.report).
func (c *Cache) retryInvalidation(op string, keys []string, err error) {
	if c.life.Err() != nil {
		if errors.Is(err, ErrClosed) {
			return // the backend Close closed: every later call fails so
		}
		// It failed as Close ran, past Close's last attempt: dropped, as
		// Close drops the ones it could not make, and logged alike.
		c.logDroppedInvalidations(len(keys), false, err)
		return
	}
	p := &c.store.pending
	p.mu.Lock()
	if p.keys == nil {
		p.keys = make(map[string]uint64)
	}
	dropped := 0
	for _, k := range keys {
		if _, ok := p.keys[k]; !ok {
			if len(p.keys) >= maxPendingInvalidations || p.bytes+len(k) > maxPendingInvalidationBytes {
				dropped++
				continue
			}
			p.bytes += len(k)
		}
		p.keys[k] = p.adds.Add(1)
	}
	logFull := dropped > 0 && p.overflow == 0
	if dropped > 0 {
		p.overflow = p.adds.Add(1)
	}
	p.counted()
	start := !p.running && p.size.Load() > 0
	p.running = p.running || start
	p.mu.Unlock()
	if logFull {
		c.log.LogAttrs(context.Background(), slog.LevelError, "caching: invalidation retry set full: every lookup is a miss until the backend answers and its namespace is cleared",
			slog.String("op", op), slog.Int("max", maxPendingInvalidations), slog.Int("max_bytes", maxPendingInvalidationBytes),
			slog.String("error", err.Error()))
	}
	if start && !c.goBackground(c.retryInvalidations) {
		p.mu.Lock() // closed meanwhile: nothing waits after Close
		left, overflow := len(p.keys), p.overflow != 0
		p.drop()
		p.mu.Unlock()
		if left > 0 || overflow {
			c.logDroppedInvalidations(left, overflow, err)
		}
	}
}

// retryInvalidations deletes the pending keys until none is left or the
// Cache is closed.
func (c *Cache) retryInvalidations() {
	p := &c.store.pending
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
			// Close makes the last attempt at what is left
			// (closeInvalidations), once this goroutine returned.
			p.mu.Lock()
			p.running = false
			p.mu.Unlock()
			return
		case <-timer.C:
		case <-w.ch:
			woken = true
		}
		w.disarm()
		p.mu.Lock()
		gens := maps.Clone(p.keys)
		overflow := p.overflow
		p.mu.Unlock()
		var err error
		if overflow != 0 {
			err = c.clearOverflow()
			p.mu.Lock()
			if err == nil {
				p.deleted(maps.Keys(gens), gens)
				if p.overflow == overflow {
					p.overflow = 0 // else one did not fit during the clear
				}
				p.counted()
			}
		} else {
			err = c.retryKeys(gens)
			p.mu.Lock()
		}
		if err == nil {
			wait = retryFirst
		} else {
			wait = min(2*wait, retryMax)
		}
		arm = err == nil || !woken
		if len(p.keys) == 0 && p.overflow == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		timer.Reset(wait)
	}
}

// retryKeys deletes the keys of gens (a copy of the set's keys and their
// generations) in chunks of retryChunk keys, each bounded by
// Options.Timeout, and removes each chunk's keys from the set as soon as its
// delete has landed. It stops at the first chunk that fails, whose keys and
// those of the chunks after it stay for the next retry.
func (c *Cache) retryKeys(gens map[string]uint64) error {
	p := &c.store.pending
	keys := slices.Collect(maps.Keys(gens))
	for chunk := range slices.Chunk(keys, retryChunk) {
		ctx, cancel := c.store.bound(c.life)
		err := c.store.reinvalidate(ctx, chunk)
		cancel()
		if err != nil {
			return err
		}
		p.mu.Lock()
		p.deleted(slices.Values(chunk), gens)
		p.mu.Unlock()
	}
	return nil
}

// clearOverflow clears the backend's namespace, as Cache.Clear does, for a
// retry set that overflowed: the keys that did not fit are unknown. It is
// bounded by retryClearTimeout and by Close.
func (c *Cache) clearOverflow() error {
	ctx, cancel := context.WithTimeout(c.life, retryClearTimeout)
	defer cancel()
	if c.store.br != nil && c.store.br.Tripped() {
		// The clear would be the breaker's probe, which Options.Timeout
		// bounds: a clear that takes longer (a scan of a large Redis
		// database) would fail, and open the breaker again, on every
		// retry while no other call comes. A read probes first; its
		// answer closes the breaker, and the clear then has its own
		// bound.
		if _, err := c.store.get(ctx, c.prefix+"probe"); err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
	}
	c.writingAll()
	defer c.writingAll()
	err := c.store.reclear(ctx)
	if err == nil {
		c.log.LogAttrs(ctx, slog.LevelWarn, "caching: invalidation retry set overflowed: the backend's namespace was cleared")
	}
	return err
}

// closeInvalidations is Close's last attempt at the invalidations waiting
// for a retry, once the background goroutines (the retry's among them)
// were stopped: a process is often shut down (a deploy) soon after a
// backend blip, while its retry waits out its back-off, and the entries
// those invalidations end would otherwise be served by every other process
// sharing the backend until their TTL ends (Forever: for good). It deletes
// the keys retryChunk at a time, each chunk bounded by Options.Timeout, and
// clears the namespace when the set overflowed, all within d and whatever
// the breaker says (one bounded attempt; the backend may answer again
// before the breaker has probed it). What is left is dropped, and logged at
// ERROR with the number of keys and whether a clear was left undone.
func (c *Cache) closeInvalidations(d time.Duration) {
	p := &c.store.pending
	p.mu.Lock()
	gens := maps.Clone(p.keys)
	overflow := p.overflow
	p.mu.Unlock()
	if len(gens) == 0 && overflow == 0 {
		return
	}
	s := &c.store
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var err error
	for chunk := range slices.Chunk(slices.Collect(maps.Keys(gens)), retryChunk) {
		cctx, ccancel := context.WithTimeout(ctx, s.timeout)
		start := s.start()
		err = s.b.Delete(cctx, chunk...)
		s.observe(OpDelete, start, err)
		ccancel()
		if err != nil {
			break
		}
		p.mu.Lock()
		p.deleted(slices.Values(chunk), gens)
		p.mu.Unlock()
	}
	if err == nil && overflow != 0 {
		s.clearing()
		start := s.start()
		err = s.b.Clear(ctx)
		s.observe(OpClear, start, err)
		s.clearing()
		if err == nil {
			p.mu.Lock()
			if p.overflow == overflow {
				p.overflow = 0
			}
			p.counted()
			p.mu.Unlock()
		}
	}
	p.mu.Lock()
	left, cleared := len(p.keys), p.overflow == 0
	p.drop()
	p.mu.Unlock()
	if left == 0 && cleared {
		return
	}
	c.logDroppedInvalidations(left, !cleared, err)
}

// logDroppedInvalidations logs at ERROR the failed invalidations dropped
// because the Cache is closed: keys of them, the clear of an overflowed
// retry set when overflow, and the last error (nil: none).
func (c *Cache) logDroppedInvalidations(keys int, overflow bool, err error) {
	text := "none"
	if err != nil {
		text = err.Error()
	}
	c.log.LogAttrs(context.Background(), slog.LevelError, "caching: failed invalidations dropped at Close: other processes sharing the backend may serve what they were meant to end until it expires",
		slog.Int("keys", keys), slog.Bool("overflow", overflow), slog.String("error", text))
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
