package simple

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
)

// Store is the in-process store: a sharded map bounded by entries and bytes,
// with SIEVE eviction and TTL expiry. Create it with New or Must; the zero
// value is not usable. It is safe for concurrent use by multiple goroutines.
//
// A Store runs one goroutine, the expiry sweep (unless Options.SweepInterval
// is negative); Close stops it.
//
// The ctx arguments of its methods are not consulted: every call completes
// in bounded time without blocking on anything but the store's own locks.
type Store struct {
	shards       []shard
	mask         uint64
	seed         maphash.Seed
	maxValueSize int64
	clock        func() time.Time
	realClock    bool // clock is time.Now: read the monotonic clock only
	start        time.Time
	onEvict      func(key string)
	closed       atomic.Bool
	stop         chan struct{} // closed by Close; nil without a sweep
	done         chan struct{} // closed when the sweep goroutine returns
}

var (
	_ backend.Backend     = (*Store)(nil)
	_ backend.GetManyer   = (*Store)(nil)
	_ backend.SetManyer   = (*Store)(nil)
	_ backend.Incrementer = (*Store)(nil)
	_ backend.Haser       = (*Store)(nil)
	_ backend.Statser     = (*Store)(nil)
	_ backend.ValueStore  = (*Store)(nil)
)

// New validates opts and returns a new, empty Store. Errors name the invalid
// field and its valid range. Unless opts.SweepInterval is negative, New
// starts the sweep goroutine: call Close to stop it.
func New(opts Options) (*Store, error) {
	c, err := opts.config()
	if err != nil {
		return nil, err
	}
	s := &Store{
		shards:       make([]shard, c.shards),
		mask:         uint64(c.shards - 1),
		seed:         maphash.MakeSeed(),
		maxValueSize: c.maxBytes / int64(c.shards),
		clock:        c.clock,
		onEvict:      c.onEvict,
	}
	if s.clock == nil {
		s.clock, s.realClock = time.Now, true
	}
	s.start = s.clock()
	n := int64(c.shards)
	for i := range s.shards {
		sh := &s.shards[i]
		sh.reset()
		// Spread the remainders so that the shares add up to the bounds.
		sh.maxEntries = c.maxEntries / n
		if int64(i) < c.maxEntries%n {
			sh.maxEntries++
		}
		sh.maxBytes = c.maxBytes / n
		if int64(i) < c.maxBytes%n {
			sh.maxBytes++
		}
	}
	if c.sweepInterval > 0 {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.sweepLoop(c.sweepInterval)
	}
	return s, nil
}

// Must is New for program start-up: it panics if opts are invalid.
func Must(opts Options) *Store {
	s, err := New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// MaxValueSize is the largest entry the store accepts, counted as for
// Options.MaxBytes (key and value): MaxBytes divided by the shard count.
// Larger ones get backend.ErrValueTooLarge.
func (s *Store) MaxValueSize() int64 { return s.maxValueSize }

func (s *Store) shardFor(key string) *shard {
	return &s.shards[maphash.String(s.seed, key)&s.mask]
}

// now is the store's clock reading: nanoseconds since New. With the default
// clock it is monotonic.
// time.Since reads only the monotonic clock, which costs about half of
// time.Now's wall and monotonic reading; hits of entries with a TTL pay it.
func (s *Store) now() int64 {
	if s.realClock {
		return int64(time.Since(s.start))
	}
	return int64(s.clock().Sub(s.start))
}

// deadline is the clock reading at which an entry written now with ttl > 0
// expires (never 0, which means "never").
func (s *Store) deadline(ttl time.Duration) int64 {
	now := s.now()
	if now > 0 && int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	return max(now+int64(ttl), 1)
}

// Get returns the value stored under key by Set, SetMany, Add or Incr, or
// backend.ErrNotFound. The returned slice is the stored one, not a copy: it
// is read-only (copy it to modify it). Get takes only a shared lock.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, backend.ErrClosed
	}
	if v, ok := s.get(key, false); ok {
		return v, nil
	}
	return nil, backend.ErrNotFound
}

// get looks a byte value up; a hit marks it visited unless peek.
func (s *Store) get(key string, peek bool) ([]byte, bool) {
	v, _, ok := s.find(key, false, peek, 0, false)
	return v, ok
}

// find looks key up among the entries of one kind (Go values when obj, byte
// values otherwise) under the shard's read lock; a hit marks the entry
// visited unless peek. now is the store's clock reading when haveNow, else
// the clock is read only for an entry with an expiry.
func (s *Store) find(key string, obj, peek bool, now int64, haveNow bool) ([]byte, any, bool) {
	sh := s.shardFor(key)
	sh.mu.RLock()
	sl, ok := sh.m[key]
	if !ok || sl.isObj != obj {
		sh.mu.RUnlock()
		return nil, nil, false
	}
	if sl.expireAt != 0 {
		if !haveNow {
			now = s.now()
		}
		if expired(sl.expireAt, now) {
			sh.mu.RUnlock()
			s.dropExpired(sh, key)
			return nil, nil, false
		}
	}
	if !peek {
		sh.markVisited(sl.node)
	}
	sh.mu.RUnlock()
	return sl.value, sl.obj, true
}

// dropExpired removes key, found expired under the read lock, unless it was
// rewritten since.
func (s *Store) dropExpired(sh *shard, key string) {
	sh.mu.Lock()
	if sl, ok := sh.m[key]; ok && sl.expireAt != 0 && expired(sl.expireAt, s.now()) {
		sh.remove(sl.node)
	}
	sh.mu.Unlock()
}

// Set stores a copy of value under key for ttl (0: no expiry), replacing
// any entry, byte value or Go value. An entry larger than MaxValueSize gets
// an error wrapping backend.ErrValueTooLarge, and any older entry under key
// is removed, so that a failed write never leaves a stale value readable.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ttl); err != nil {
		return err
	}
	_, err := s.put(key, cloneBytes(value), nil, false, len(value), ttl, false)
	return err
}

// Add stores a copy of value under key only if no live entry (byte value or
// Go value) exists there, and reports whether it did. It is atomic.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.checkWrite(ttl); err != nil {
		return false, err
	}
	return s.put(key, cloneBytes(value), nil, false, len(value), ttl, true)
}

func (s *Store) checkWrite(ttl time.Duration) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return fmt.Errorf("simple: %w", err)
	}
	return nil
}

func cloneBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}

// put stores value (or obj, if isObj) under key. With onlyIfAbsent it stores
// nothing if a live entry exists and reports false.
func (s *Store) put(key string, value []byte, obj any, isObj bool, size int, ttl time.Duration, onlyIfAbsent bool) (bool, error) {
	sz := int64(len(key)) + int64(size)
	sh := s.shardFor(key)
	if sz > s.maxValueSize {
		if !onlyIfAbsent {
			s.deleteKey(sh, key)
		}
		return false, fmt.Errorf("simple: entry of %d bytes over the limit of %d: %w", sz, s.maxValueSize, backend.ErrValueTooLarge)
	}
	var expireAt int64
	if ttl > 0 {
		expireAt = s.deadline(ttl)
	}
	var evicted []string
	collect := s.onEvict != nil
	sl := slot{value: value, obj: obj, expireAt: expireAt, isObj: isObj}
	sh.mu.Lock()
	if old, ok := sh.m[key]; ok {
		live := old.expireAt == 0 || !expired(old.expireAt, s.now())
		if onlyIfAbsent && live {
			sh.mu.Unlock()
			return false, nil
		}
		// Overwrite in place: a rewrite of a live key counts as a use.
		sh.update(key, old, sl, sz)
		if sh.testAndClearVisited(old.node); live {
			sh.markVisited(old.node)
		}
		evicted = sh.makeRoom(0, 0, old.node, s.now, collect, nil)
	} else {
		evicted = sh.makeRoom(1, sz, none, s.now, collect, nil)
		sh.insert(key, sl, sz)
	}
	sh.mu.Unlock()
	s.notify(evicted)
	return true, nil
}

// notify calls OnEvict for the evicted keys; no lock is held.
func (s *Store) notify(evicted []string) {
	for _, k := range evicted {
		s.onEvict(k)
	}
}

func (s *Store) deleteKey(sh *shard, key string) {
	sh.mu.Lock()
	if sl, ok := sh.m[key]; ok {
		sh.remove(sl.node)
	}
	sh.mu.Unlock()
}

// Delete removes the keys, byte values and Go values alike. Absent keys are
// not an error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	for _, k := range keys {
		s.deleteKey(s.shardFor(k), k)
	}
	return nil
}

// Clear removes every entry. The store stays usable.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.reset()
		sh.mu.Unlock()
	}
	return nil
}

// Close stops the sweep goroutine and releases the entries. It is
// idempotent; every later call of another method returns backend.ErrClosed
// (LoadValue misses).
func (s *Store) Close() error {
	if !s.closed.CompareAndSwap(false, true) {
		return nil
	}
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.reset()
		sh.mu.Unlock()
	}
	return nil
}

// GetMany returns one slot per key, in order: the stored value (read-only,
// as for Get) or nil for a miss.
func (s *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if s.closed.Load() {
		return nil, backend.ErrClosed
	}
	out := make([][]byte, len(keys))
	for i, k := range keys {
		out[i], _ = s.get(k, false)
	}
	return out, nil
}

// SetMany stores a copy of each item's value, as Set does. A negative TTL
// in any item stores nothing; an item too large stops the call there, with
// the items before it stored.
func (s *Store) SetMany(ctx context.Context, items []backend.Item) error {
	for _, it := range items {
		if err := s.checkWrite(it.TTL); err != nil {
			return err
		}
	}
	if s.closed.Load() {
		return backend.ErrClosed
	}
	for _, it := range items {
		if _, err := s.put(it.Key, cloneBytes(it.Value), nil, false, len(it.Value), it.TTL, false); err != nil {
			return err
		}
	}
	return nil
}

// Incr adds delta to the decimal integer stored under key and returns the
// result, which it stores as decimal ASCII (Get returns "8", not 8 in
// binary). A missing or expired key counts as 0 and is created without
// expiry; an existing key keeps its expiry. A value that is not a decimal
// int64, a Go value, or a result that would overflow int64 gives an error
// wrapping backend.ErrNotInteger and leaves the value as it was. It is
// atomic.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, backend.ErrClosed
	}
	sh := s.shardFor(key)
	collect := s.onEvict != nil
	var evicted []string
	sh.mu.Lock()
	old, found := sh.m[key]
	if found && old.expireAt != 0 && expired(old.expireAt, s.now()) {
		sh.remove(old.node)
		found = false
	}
	n := delta
	if found {
		if old.isObj {
			sh.mu.Unlock()
			return 0, fmt.Errorf("simple: Incr of a Go value: %w", backend.ErrNotInteger)
		}
		cur, err := strconv.ParseInt(string(old.value), 10, 64)
		if err != nil {
			sh.mu.Unlock()
			return 0, fmt.Errorf("simple: Incr of a value that is not a decimal int64: %w", backend.ErrNotInteger)
		}
		n = cur + delta
		if (delta > 0 && n < cur) || (delta < 0 && n > cur) {
			sh.mu.Unlock()
			return 0, fmt.Errorf("simple: Incr would overflow int64: %w", backend.ErrNotInteger)
		}
	}
	value := strconv.AppendInt(nil, n, 10)
	sz := int64(len(key) + len(value))
	if sz > s.maxValueSize {
		sh.mu.Unlock()
		return 0, fmt.Errorf("simple: entry of %d bytes over the limit of %d: %w", sz, s.maxValueSize, backend.ErrValueTooLarge)
	}
	if found {
		// A new slice: callers may still hold the old one.
		sh.update(key, old, slot{value: value, expireAt: old.expireAt}, sz)
		sh.markVisited(old.node)
		evicted = sh.makeRoom(0, 0, old.node, s.now, collect, nil)
	} else {
		evicted = sh.makeRoom(1, sz, none, s.now, collect, nil)
		sh.insert(key, slot{value: value}, sz)
	}
	sh.mu.Unlock()
	s.notify(evicted)
	return n, nil
}

// Has reports whether a live byte value is stored under key (as Get would
// find it), without counting as a use for eviction.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if s.closed.Load() {
		return false, backend.ErrClosed
	}
	_, ok := s.get(key, true)
	return ok, nil
}

// Stats returns the entries (byte values and Go values, including expired
// ones not removed yet), the bytes they count against MaxBytes, and the
// entries evicted to make room since New. After Close, all are 0 but
// Evictions.
func (s *Store) Stats() backend.Stats {
	var st backend.Stats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.RLock()
		st.Entries += sh.entries
		st.Bytes += sh.bytes
		st.Evictions += sh.evictions
		sh.mu.RUnlock()
	}
	return st
}

// LoadValue returns the Go value stored under key by StoreValue or
// AddValue. The value is shared by every caller: it is read-only. It misses
// for byte values, expired entries, and after Close.
func (s *Store) LoadValue(key string) (any, bool) { return s.loadValue(key, 0, false) }

// LoadValueAt is LoadValue with the caller's reading of time.Now, which the
// store uses instead of reading its clock (when its clock is time.Now; a
// store with Options.Clock reads that clock as LoadValue does).
func (s *Store) LoadValueAt(key string, now time.Time) (any, bool) {
	if !s.realClock {
		return s.loadValue(key, 0, false)
	}
	return s.loadValue(key, int64(now.Sub(s.start)), true)
}

// loadValue looks a Go value up; see find for now and haveNow.
func (s *Store) loadValue(key string, now int64, haveNow bool) (any, bool) {
	if s.closed.Load() {
		return nil, false
	}
	_, v, ok := s.find(key, true, false, now, haveNow)
	return v, ok
}

// StoreValue stores the Go value v under key for ttl (0: no expiry),
// replacing any entry; len(key)+size counts against MaxBytes. v is kept
// as it is, not copied: neither the caller nor later loaders may modify it.
// A negative size is an error; a size over MaxValueSize gets
// backend.ErrValueTooLarge, as for Set.
func (s *Store) StoreValue(key string, v any, size int, ttl time.Duration) error {
	if err := s.checkValue(size, ttl); err != nil {
		return err
	}
	_, err := s.put(key, nil, v, true, size, ttl, false)
	return err
}

// AddValue is StoreValue only if no live entry exists under key; it reports
// whether it stored v. It is atomic.
func (s *Store) AddValue(key string, v any, size int, ttl time.Duration) (bool, error) {
	if err := s.checkValue(size, ttl); err != nil {
		return false, err
	}
	return s.put(key, nil, v, true, size, ttl, true)
}

func (s *Store) checkValue(size int, ttl time.Duration) error {
	if err := s.checkWrite(ttl); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("simple: size is %d, want 0 or more", size)
	}
	return nil
}

// sweepLoop removes expired entries every interval until Close.
func (s *Store) sweepLoop(interval time.Duration) {
	defer close(s.done)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			now := s.now()
			for i := range s.shards {
				s.shards[i].sweep(now)
			}
		}
	}
}
