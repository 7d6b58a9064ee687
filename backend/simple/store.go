package simple

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"reflect"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/decimal"
)

// Store is the in-process store: a sharded hash table bounded by entries
// and bytes, with SIEVE eviction and TTL expiry. Create it with New or Must;
// the zero value is not usable. It is safe for concurrent use by multiple
// goroutines.
//
// A Store runs one goroutine, the expiry sweep (unless Options.SweepInterval
// is negative); Close stops it.
//
// The ctx arguments of its methods are not consulted: every call completes
// in bounded time without blocking on anything but the store's own locks.
type Store struct {
	shards       []shard
	shift        uint // a key's shard is its hash >> shift
	seed         maphash.Seed
	maxEntrySize int64
	clock        func() time.Time
	realClock    bool           // clock is time.Now: read boot instead
	boot         boottime.Clock // with time.Now: monotonic, plus suspends
	start        time.Time      // clock's reading at New, or boot's start
	onEvict      func(key string)
	pins         sync.Map // key -> value (Pin)
	closed       atomic.Bool
	stop         chan struct{} // closed by Close; nil without a sweep
	done         chan struct{} // closed when the sweep goroutine returns
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.SetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
	_ backend.Statser       = (*Store)(nil)
	_ backend.ValueStore    = (*Store)(nil)
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
		shift:        uint(64 - bits.TrailingZeros(uint(c.shards))),
		seed:         maphash.MakeSeed(),
		maxEntrySize: min(c.maxBytes/int64(c.shards), maxEntrySize),
		clock:        c.clock,
		onEvict:      c.onEvict,
	}
	if s.clock == nil {
		s.clock, s.realClock = time.Now, true
		s.boot.Init()
		s.start = s.boot.Start()
	} else {
		s.start = s.clock()
	}
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
// Options.MaxBytes (key, value and EntryOverhead, or ValueOverhead for a Go
// value): MaxBytes divided by the shard count, and at most 2 GiB. Larger
// entries get backend.ErrValueTooLarge.
func (s *Store) MaxValueSize() int64 { return s.maxEntrySize }

// hash returns key's hash and shard.
func (s *Store) hash(key string) (uint64, *shard) {
	h := maphash.String(s.seed, key)
	return h, &s.shards[h>>s.shift]
}

// now is the store's clock reading: nanoseconds since New. With the default
// clock it is monotonic, plus the time the machine was suspended (see
// internal/boottime): it reads only the monotonic clock, which costs about
// half of time.Now's wall and monotonic reading (hits of entries with a TTL
// pay it), and the wall clock too once a second.
func (s *Store) now() int64 {
	if s.realClock {
		return s.boot.FromMono(int64(time.Since(s.start)))
	}
	return int64(s.clock().Sub(s.start))
}

// writeNow is now for a write, which with the default clock reads the wall
// clock too, so that a suspend is counted at once, before the write's
// deadline and the entries it may evict are judged.
func (s *Store) writeNow() int64 {
	if s.realClock {
		return s.boot.Check()
	}
	return s.now()
}

// deadline is the clock reading at which an entry written now with ttl
// expires: 0 (never) for a ttl of 0, else never 0. It is before the
// store's start (negative) when an Options.Clock went back past it: raised
// to the start, it would make the TTL as long as the clock went back.
func (s *Store) deadline(ttl time.Duration) int64 {
	if ttl <= 0 {
		return 0
	}
	now := s.writeNow()
	if now > 0 && int64(ttl) > math.MaxInt64-now {
		return math.MaxInt64
	}
	if d := now + int64(ttl); d != 0 {
		return d
	}
	return 1
}

// Get returns the value stored under key by Set, SetMany, Add or Incr, or
// backend.ErrNotFound. The returned slice is the stored one, not a copy: it
// is read-only (copy it to modify it). Get takes no lock.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, backend.ErrClosed
	}
	if e := s.find(key, findOpts{}); e != nil {
		return e.bytes(), nil
	}
	return nil, backend.ErrNotFound
}

// findOpts say what find looks for, and how.
type findOpts struct {
	value bool  // a Go value (StoreValue), not a byte value
	peek  bool  // do not mark the entry visited (Has)
	now   int64 // the store's clock reading, or 0: read it if needed
}

// find returns the live entry of the kind o asks for under key, or nil,
// without a lock; a hit marks the entry visited unless o.peek. The clock is
// read only for an entry with an expiry, and only without o.now.
func (s *Store) find(key string, o findOpts) *entry {
	// table.find, written out with the checks of a hit folded in: a hit is
	// a call fewer, and an entry's klen, the key's length with goValueBit
	// for a Go value, checks its kind and length in one comparison. It is
	// compared in 64 bits, not truncated to klen's 32: a key of 4 GiB
	// and 5 bytes must not pass for one of 5. (A key of 2 GiB or more may
	// pass for a Go value's shorter key; sameKey then compares the strings.)
	want := uint64(len(key))
	if o.value {
		want |= goValueBit
	}
	h, sh := s.hash(key)
	t := sh.tab.Load()
	tag := tagOf(h)
	for gi := h >> 7 & t.mask; ; gi = (gi + 1) & t.mask {
		g := &t.groups[gi]
		ctrl := g.ctrl.Load()
		c := ctrl & low7
		for m := matches(c, tag); m != 0; m &= m - 1 {
			j := uint(bits.TrailingZeros64(m)) >> 3
			e := g.ptr[j].Load()
			if e == nil || uint64(e.klen) != want || !e.sameKey(key) {
				continue
			}
			if x := e.expireAt; x != 0 {
				// Live by o.now, or by the default clock with no check
				// of the wall clock due, without a call; else
				// expireIfDue judges it.
				live := o.now != 0 && o.now < x
				if o.now == 0 && s.realClock {
					live = s.boot.Before(int64(time.Since(s.start)), x)
				}
				if !live && s.expireIfDue(sh, key, h, e, o.now) {
					return nil
				}
			}
			if !o.peek {
				g.markVisited(j, ctrl)
			}
			return e
		}
		if hasEmpty(c) {
			return nil
		}
	}
}

// expireIfDue reports whether e, key's entry, has expired, and if so removes
// it, unless it holds a Dropper; now is the clock reading, 0 to read it.
//
// A read never drops a Dropper: Dropped may panic, and a read would raise
// that panic in a caller that dropped nothing, perhaps under locks of its
// own (package caching reads so). An expired Dropper is left, a miss, for
// the sweep, the eviction hand (which takes expired entries first) or a
// write of its key to remove, which tell it then (see Dropper).
func (s *Store) expireIfDue(sh *shard, key string, h uint64, e *entry, now int64) bool {
	if now == 0 {
		now = s.now()
	}
	if !expired(e.expireAt, now) {
		return false
	}
	if !e.isDropper() {
		s.dropExpired(sh, key, h, e)
	}
	return true
}

// dropExpired removes key's entry e, found expired without the lock, unless
// it was rewritten since.
func (s *Store) dropExpired(sh *shard, key string, h uint64, e *entry) {
	sh.mu.Lock()
	if loc, found := sh.lookup(key, h); found == e {
		sh.remove(sh.slotAt(loc))
	}
	sh.unlock()
}

// Set stores a copy of value under key for ttl (0: no expiry), replacing
// any entry, byte value or Go value. An entry larger than MaxValueSize gets
// an error wrapping backend.ErrValueTooLarge, and any older entry under key
// is removed, so that a failed write never leaves a stale value readable.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := s.checkWrite(ttl); err != nil {
		return err
	}
	_, err := s.putBytes(key, value, ttl, false)
	return err
}

// Add stores a copy of value under key only if no live entry (byte value or
// Go value) exists there, and reports whether it did. It is atomic.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := s.checkWrite(ttl); err != nil {
		return false, err
	}
	return s.putBytes(key, value, ttl, true)
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

// SetDeferred is Set for a caller that holds a lock of its own which
// OnEvict may need, as StoreValueDeferred is StoreValue: OnEvict is not
// called for the entries the write evicts, and a Dropper that panics when
// the write drops it (the value it replaces, one it evicts, or, for a value
// too large, the entry it deletes) does not make SetDeferred panic. The
// write completes, and the returned Evictions tell OnEvict and then raise
// the panic from Notify, which the caller must call once it has released
// its lock, whatever the error.
func (s *Store) SetDeferred(key string, value []byte, ttl time.Duration) (Evictions, error) {
	if err := s.checkWrite(ttl); err != nil {
		return Evictions{}, err
	}
	_, evicted, dropped, err := s.putBytesHeld(key, value, ttl, false)
	return s.deferred(evicted, dropped), err
}

// AddDeferred is Add for a caller that holds a lock of its own which
// OnEvict may need, or that counts the writes that land, as SetDeferred is
// Set: OnEvict is not called for the entries the write evicts, and a
// Dropper that panics when the write drops it (an expired value it
// replaces, one it evicts) does not make AddDeferred panic. The write
// completes, and the returned Evictions tell OnEvict and then raise the
// panic from Notify, which the caller must call once it has released its
// lock, whatever the error.
func (s *Store) AddDeferred(key string, value []byte, ttl time.Duration) (bool, Evictions, error) {
	if err := s.checkWrite(ttl); err != nil {
		return false, Evictions{}, err
	}
	added, evicted, dropped, err := s.putBytesHeld(key, value, ttl, true)
	return added, s.deferred(evicted, dropped), err
}

// putBytes stores a copy of value under key; see put.
func (s *Store) putBytes(key string, value []byte, ttl time.Duration, onlyIfAbsent bool) (bool, error) {
	size := int64(len(key)) + int64(len(value)) + EntryOverhead
	if err := s.checkSize(key, size, onlyIfAbsent, nil); err != nil {
		return false, err
	}
	return s.put(key, newBytesEntry(key, value, s.deadline(ttl)), size, onlyIfAbsent)
}

// putBytesHeld is putBytes returning what putHeld does: the keys it
// evicted, for its caller to tell OnEvict (notify), and what a Dropper it
// dropped panicked with, for its caller to raise (see checkSize).
func (s *Store) putBytesHeld(key string, value []byte, ttl time.Duration, onlyIfAbsent bool) (bool, []string, any, error) {
	size := int64(len(key)) + int64(len(value)) + EntryOverhead
	var dropped any
	if err := s.checkSize(key, size, onlyIfAbsent, &dropped); err != nil {
		return false, nil, dropped, err
	}
	return s.putHeld(key, newBytesEntry(key, value, s.deadline(ttl)), size, onlyIfAbsent)
}

// checkSize returns an error wrapping backend.ErrValueTooLarge if an entry
// of size is too large; unless onlyIfAbsent it then removes key's entry.
// If that entry's Dropper panics, checkSize panics with the same value, or
// with a keep, puts the value there for its caller to raise.
func (s *Store) checkSize(key string, size int64, onlyIfAbsent bool, keep *any) error {
	if size <= s.maxEntrySize {
		return nil
	}
	if !onlyIfAbsent {
		_, dropped := s.deleteKey(key)
		if keep != nil {
			*keep = dropped
		} else if dropped != nil {
			panic(dropped)
		}
	}
	if size == math.MaxInt64 { // valueSize of a size beyond any limit
		return fmt.Errorf("simple: entry of over %d bytes over the limit of %d: %w", int64(maxEntrySize), s.maxEntrySize, backend.ErrValueTooLarge)
	}
	return fmt.Errorf("simple: entry of %d bytes over the limit of %d: %w", size, s.maxEntrySize, backend.ErrValueTooLarge)
}

// put stores e, of size size, under key. With onlyIfAbsent it stores
// nothing if a live entry exists and reports false.
func (s *Store) put(key string, e *entry, size int64, onlyIfAbsent bool) (bool, error) {
	ok, evicted, dropped, err := s.putHeld(key, e, size, onlyIfAbsent)
	s.notifyThen(evicted, dropped)
	return ok, err
}

// putHeld is put, returning the keys it evicted (collected only where
// OnEvict is set) for its caller to tell OnEvict (notify), and what a
// Dropper it dropped panicked with, if one did (shard.unlockKeep), for its
// caller to raise again.
func (s *Store) putHeld(key string, e *entry, size int64, onlyIfAbsent bool) (bool, []string, any, error) {
	h, sh := s.hash(key)
	var evicted []string
	collect := s.onEvict != nil
	sh.mu.Lock()
	if s.closed.Load() { // closed since checkWrite: Close may have reset sh
		sh.unlock()
		return false, nil, nil, backend.ErrClosed
	}
	loc, old := sh.lookup(key, h)
	if old != nil {
		live := old.expireAt == 0 || !expired(old.expireAt, s.now())
		if onlyIfAbsent && live {
			sh.unlock()
			return false, nil, nil, nil
		}
		// Overwrite in place: a rewrite of a live key counts as a use.
		sh.replace(loc, old, e, size)
		sh.visit(loc, live)
		evicted = sh.makeRoom(0, 0, loc, s.now, collect, nil)
	} else {
		evicted = sh.makeRoom(1, size, noLoc, s.now, collect, nil)
		sh.insert(e, h, loc, size)
	}
	return true, evicted, sh.unlockKeep(), nil
}

// unlockNotify releases sh's lock and tells OnEvict of the keys evicted
// under it (notifyThen).
func (s *Store) unlockNotify(sh *shard, evicted []string) {
	s.notifyThen(evicted, sh.unlockKeep())
}

// notifyThen tells OnEvict of the keys evicted (notify), and then raises
// again dropped, what a Dropper panicked with under the lock, if it is not
// nil: that panic does not keep the evicted keys from OnEvict.
func (s *Store) notifyThen(evicted []string, dropped any) {
	if dropped != nil {
		defer panic(dropped)
	}
	s.notify(evicted)
}

// notify calls OnEvict for the evicted keys; no lock is held. Every key is
// told even when OnEvict panics for one: the first panic is raised again
// once all are (a Dropper's panic is kept so too: see shard.drop). An
// OnEvict that calls runtime.Goexit has the keys after its own told as the
// goroutine ends.
func (s *Store) notify(evicted []string) {
	var (
		first    any
		panicked bool
		i        int
	)
	defer func() {
		// Reached with i short of the end only when OnEvict called
		// runtime.Goexit for evicted[i].
		if i < len(evicted) {
			s.tellRest(evicted[i+1:])
		}
	}()
	for ; i < len(evicted); i++ {
		if r, ok := s.tellEvict(evicted[i]); ok && !panicked {
			first, panicked = r, true
		}
	}
	if panicked {
		panic(first)
	}
}

// notifyKept is notify for a caller that has more writes to make: what
// OnEvict panicked with is returned rather than raised (nil: no panic), for
// the caller to raise once they are made.
func (s *Store) notifyKept(evicted []string) (panicked any) {
	defer func() { panicked = recover() }()
	s.notify(evicted)
	return nil
}

// tellRest calls OnEvict for keys while the goroutine ends (an OnEvict
// called runtime.Goexit): a panic is dropped, as it would end nothing
// more, and another Goexit goes on with the keys after its own.
func (s *Store) tellRest(keys []string) {
	i := 0
	defer func() {
		if i < len(keys) {
			s.tellRest(keys[i+1:])
		}
	}()
	for ; i < len(keys); i++ {
		s.tellEvict(keys[i])
	}
}

// tellEvict calls OnEvict for key and returns what it panicked with, if it
// did.
func (s *Store) tellEvict(key string) (r any, panicked bool) {
	returned := false
	defer func() {
		if !returned {
			r, panicked = recover(), true
		}
	}()
	s.onEvict(key)
	returned = true
	return nil, false
}

// deleteKey removes key and reports whether it held a live entry, and
// what its Dropper panicked with, if it did (shard.unlockKeep), for its
// caller to raise.
func (s *Store) deleteKey(key string) (live bool, dropped any) {
	h, sh := s.hash(key)
	sh.mu.Lock()
	if loc, e := sh.lookup(key, h); e != nil {
		live = !expired(e.expireAt, s.now())
		sh.remove(sh.slotAt(loc))
	}
	return live, sh.unlockKeep()
}

// Delete removes the keys, byte values and Go values alike. Absent keys are
// not an error.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	_, err := s.DeleteCount(ctx, keys...)
	return err
}

// DeleteCount removes the keys, as Delete does, and returns how many of
// them held a live entry (backend.DeleteCounter). A Dropper that panics
// does not keep the keys after its own: every key is removed, and then
// the call panics with the first such value.
func (s *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) {
	if s.closed.Load() {
		return 0, backend.ErrClosed
	}
	n := 0
	var first any
	for _, k := range keys {
		live, dropped := s.deleteKey(k)
		if live {
			n++
		}
		if first == nil {
			first = dropped
		}
	}
	if first != nil {
		panic(first)
	}
	return n, nil
}

// DeleteDeferred is Delete of one key for a caller that holds a lock of
// its own, as StoreValueDeferred is StoreValue: a Dropper that panics when
// the delete drops it does not make DeleteDeferred panic, which would
// unwind through the caller's lock. The key is removed, and the returned
// Evictions (which hold no evicted key) raise the panic from Notify, which
// the caller must call once it has released its lock, whatever the error.
func (s *Store) DeleteDeferred(key string) (Evictions, error) {
	if s.closed.Load() {
		return Evictions{}, backend.ErrClosed
	}
	_, dropped := s.deleteKey(key)
	return s.deferred(nil, dropped), nil
}

// Clear removes every entry. The store stays usable.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	s.reset()
	return nil
}

// reset empties every shard. If a Dropper panics, it still empties them
// all, then panics with the first such value.
func (s *Store) reset() {
	var panicked any
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		sh.reset()
		if p := sh.unlockKeep(); panicked == nil {
			panicked = p
		}
	}
	if panicked != nil {
		panic(panicked)
	}
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
	s.reset()
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
		if e := s.find(k, findOpts{}); e != nil {
			out[i] = e.bytes()
		}
	}
	return out, nil
}

// SetMany stores a copy of each item's value, as Set does. A negative TTL
// in any item stores nothing; an item too large stops the call there, with
// the items before it stored. A Dropper or an OnEvict that panics does not
// stop it: the call goes on to the end (or the item too large), telling
// OnEvict of each item's evictions once the item is written, and then
// panics with the first such value (an item's Dropper's before its
// OnEvict's, as Set raises them).
func (s *Store) SetMany(ctx context.Context, items []backend.Item) error {
	for _, it := range items {
		if err := s.checkWrite(it.TTL); err != nil {
			return err
		}
	}
	if s.closed.Load() {
		return backend.ErrClosed
	}
	var first any // what a Dropper panicked with first
	defer func() {
		if first != nil {
			panic(first)
		}
	}()
	for _, it := range items {
		_, evicted, dropped, err := s.putBytesHeld(it.Key, it.Value, it.TTL, false)
		told := s.notifyKept(evicted)
		if first == nil {
			first = dropped
		}
		if first == nil {
			first = told
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Incr adds delta to the decimal integer stored under key and returns the
// result, which it stores as decimal ASCII (Get returns "8", not 8 in
// binary). A missing or expired key counts as 0 and is created without
// expiry; an existing key keeps its expiry. A value that is not an int64 as
// strconv.FormatInt writes it ("007", "+5" and "-0" are not, as for Redis's
// INCRBY), a Go value, or a result that would overflow int64 gives an error
// wrapping backend.ErrNotInteger and leaves the value as it was. It is
// atomic.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, backend.ErrClosed
	}
	h, sh := s.hash(key)
	collect := s.onEvict != nil
	var evicted []string
	sh.mu.Lock()
	if s.closed.Load() { // closed since the check above: Close may have reset sh
		sh.mu.Unlock()
		return 0, backend.ErrClosed
	}
	loc, old := sh.lookup(key, h)
	if old != nil && old.expireAt != 0 && expired(old.expireAt, s.now()) {
		sh.remove(sh.slotAt(loc)) // loc is now free, where key may go
		old = nil
	}
	n := delta
	if old != nil {
		if old.isValue() {
			sh.unlock()
			return 0, fmt.Errorf("simple: Incr of a Go value: %w", backend.ErrNotInteger)
		}
		v := old.bytes()
		cur, ok := decimal.Parse(unsafe.String(unsafe.SliceData(v), len(v)))
		if !ok {
			sh.unlock()
			return 0, fmt.Errorf("simple: Incr of a value that is not a decimal int64: %w", backend.ErrNotInteger)
		}
		n = cur + delta
		if (delta > 0 && n < cur) || (delta < 0 && n > cur) {
			sh.unlock()
			return 0, fmt.Errorf("simple: Incr would overflow int64: %w", backend.ErrNotInteger)
		}
	}
	var buf [20]byte
	value := strconv.AppendInt(buf[:0], n, 10)
	size := int64(len(key)) + int64(len(value)) + EntryOverhead
	if size > s.maxEntrySize {
		sh.unlock()
		return 0, fmt.Errorf("simple: entry of %d bytes over the limit of %d: %w", size, s.maxEntrySize, backend.ErrValueTooLarge)
	}
	if old != nil {
		// A new entry: callers may still hold the old value.
		sh.replace(loc, old, newBytesEntry(key, value, old.expireAt), size)
		sh.visit(loc, true)
		evicted = sh.makeRoom(0, 0, loc, s.now, collect, nil)
	} else {
		evicted = sh.makeRoom(1, size, noLoc, s.now, collect, nil)
		sh.insert(newBytesEntry(key, value, 0), h, loc, size)
	}
	s.unlockNotify(sh, evicted)
	return n, nil
}

// Has reports whether a live byte value is stored under key (as Get would
// find it), without counting as a use for eviction.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if s.closed.Load() {
		return false, backend.ErrClosed
	}
	return s.find(key, findOpts{peek: true}) != nil, nil
}

// Stats returns the entries (byte values and Go values, including expired
// ones not removed yet), the bytes they count against MaxBytes (keys,
// values and the per-entry overhead), and the entries evicted to make room
// since New. After Close, all are 0 but Evictions.
func (s *Store) Stats() backend.Stats {
	var st backend.Stats
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		st.Entries += sh.entries
		st.Bytes += sh.bytes
		st.Evictions += sh.evictions
		sh.mu.Unlock()
	}
	return st
}

// LoadValue returns the Go value stored under key by StoreValue or
// AddValue. The value is shared by every caller: it is read-only. It misses
// for byte values, expired entries, and after Close. It takes no lock.
func (s *Store) LoadValue(key string) (any, bool) { return s.loadValue(key, 0) }

// LoadValueAt is LoadValue with the caller's reading of time.Now, which the
// store uses instead of reading its clock (when its clock is time.Now; a
// store with Options.Clock reads that clock as LoadValue does). A now
// without a monotonic clock reading (a zero time, one from time.Unix or
// Round(0), one decoded, and every time.Now in a testing/synctest bubble)
// is no reading: the store reads its clock if the entry has an expiry, as
// comparing by the wall clock would serve expired entries once the wall
// clock is stepped back, and expire live ones once it is stepped forward.
func (s *Store) LoadValueAt(key string, now time.Time) (any, bool) {
	if !s.realClock || !monotonic(now) {
		return s.loadValue(key, 0)
	}
	return s.loadValue(key, s.boot.FromMono(int64(now.Sub(s.start))))
}

// monotonic reports whether t holds a monotonic clock reading, as
// time.Now's do outside a synctest bubble: Round(0) strips that reading,
// and changes nothing else.
func monotonic(t time.Time) bool { return t != t.Round(0) }

// LoadValueBytesAt is LoadValueAt for a key held in a byte slice, which it
// reads only during the call and does not keep: a caller that builds its
// keys in a reused buffer looks them up without making a string, so a hit
// allocates nothing. A zero now is no reading, as for LoadValueAt. It is not
// part of backend.ValueStore; find it by type assertion.
func (s *Store) LoadValueBytesAt(key []byte, now time.Time) (any, bool) {
	return s.LoadValueAt(unsafe.String(unsafe.SliceData(key), len(key)), now)
}

// loadValue looks a Go value up; now is the clock reading, 0 to read it.
func (s *Store) loadValue(key string, now int64) (any, bool) {
	if s.closed.Load() {
		return nil, false
	}
	if e := s.find(key, findOpts{value: true, now: now}); e != nil {
		return e.value(), true
	}
	return nil, false
}

// Pin returns the value pinned under key, pinning v there first if none
// is. Pinned values live apart from the entries, for as long as the Store:
// they are never evicted, expired, deleted or cleared (Delete, Clear and
// Close leave them), do not count against the bounds or in Stats, and are
// not seen by Get or LoadValue. They are for the few values that must not
// be lost while entries depend on them, such as package caching's
// generations of memoized functions, which every Cache sharing the store
// shares through them. Pin takes a lock only the first time a key is
// pinned.
func (s *Store) Pin(key string, v any) any {
	if p, ok := s.pins.Load(key); ok {
		return p
	}
	p, _ := s.pins.LoadOrStore(key, v)
	return p
}

// StoreValue stores the Go value v under key for ttl (0: no expiry),
// replacing any entry; len(key)+size+ValueOverhead counts against
// MaxBytes, so size should be what v holds in memory. v is kept as it is,
// not copied: neither the caller nor later loaders may modify it. A
// negative size is an error; an entry over MaxValueSize gets
// backend.ErrValueTooLarge, as for Set.
// A v that is a Dropper is told when the store stops holding it.
func (s *Store) StoreValue(key string, v any, size int, ttl time.Duration) error {
	_, err := s.putValue(key, v, size, ttl, false)
	return err
}

// StoreValueDeferred is StoreValue for a caller that holds a lock of its
// own which OnEvict may need (package caching holds the write lock of the
// key it stores, and an OnEvict may forget another key through it): OnEvict
// is not called for the entries the write evicts. They are returned
// instead, for the caller to tell OnEvict (Evictions.Notify) from the same
// goroutine once it has released its lock. The write is made, and its
// evictions are, as StoreValue's.
//
// A Dropper that panics when the write drops it (the value it replaces,
// one it evicts, or, for a value too large, the entry it deletes) does not
// make StoreValueDeferred panic, which would unwind through the caller's
// lock and lose the evictions: the write completes and returns as if no
// Dropper had panicked, and Notify raises the panic once it has told
// OnEvict of every key. The caller must therefore call Notify, once it
// has released its lock, whatever the error and whether or not
// Options.OnEvict is set.
func (s *Store) StoreValueDeferred(key string, v any, size int, ttl time.Duration) (Evictions, error) {
	var dropped any
	if err := s.checkValue(key, size, ttl, false, &dropped); err != nil {
		return s.deferred(nil, dropped), err
	}
	_, evicted, dropped, err := s.putHeld(key, newValueEntry(key, v, int64(size), s.deadline(ttl)), valueSize(key, size), false)
	return s.deferred(evicted, dropped), err
}

// AddValueDeferred is AddValue for a caller that holds a lock of its own
// which OnEvict may need, or that counts the writes that land, as
// StoreValueDeferred is StoreValue: the evictions of the write, and a
// Dropper's panic, are returned for the caller to tell with Notify once it
// has released its lock, whatever the error.
func (s *Store) AddValueDeferred(key string, v any, size int, ttl time.Duration) (bool, Evictions, error) {
	if err := s.checkValue(key, size, ttl, true, nil); err != nil {
		return false, Evictions{}, err
	}
	added, evicted, dropped, err := s.putHeld(key, newValueEntry(key, v, int64(size), s.deadline(ttl)), valueSize(key, size), true)
	return added, s.deferred(evicted, dropped), err
}

// deferred returns the Evictions of a write that evicted the keys evicted
// and met a Dropper's panic dropped, if not nil.
func (s *Store) deferred(evicted []string, dropped any) Evictions {
	if len(evicted) == 0 && dropped == nil {
		return Evictions{}
	}
	return Evictions{s: s, keys: evicted, dropped: dropped}
}

// Evictions are the keys a write evicted whose OnEvict calls its caller
// deferred (StoreValueDeferred), and what a Dropper the write (or a
// DeleteDeferred) dropped panicked with, if one did. The zero value holds
// none.
type Evictions struct {
	s       *Store
	keys    []string
	dropped any
}

// Notify calls OnEvict with each key evicted, in the order of the
// evictions, in the calling goroutine; it holds no lock of the store. Then,
// if a Dropper panicked during the write, it panics with the same value
// (an OnEvict's panic does not keep the other keys from OnEvict either:
// see Options.OnEvict). It is for one call: a second tells OnEvict again,
// and panics again.
func (e Evictions) Notify() {
	if e.s != nil {
		e.s.notifyThen(e.keys, e.dropped)
	}
}

// Join returns e's evictions and then more's as one, for a caller that
// makes several writes under its lock: its Notify tells OnEvict of the
// keys of both, in order, and then raises the first Dropper's panic of
// the two. They must be of the same Store: Join panics otherwise.
func (e Evictions) Join(more Evictions) Evictions {
	switch {
	case more.s == nil:
		return e
	case e.s == nil:
		return more
	case e.s != more.s:
		panic("simple: Evictions.Join of two Stores' evictions")
	}
	if e.dropped == nil {
		e.dropped = more.dropped
	}
	// Full slice expression: a Join never writes into e's keys.
	e.keys = append(e.keys[:len(e.keys):len(e.keys)], more.keys...)
	return e
}

// AddValue is StoreValue only if no live entry exists under key; it reports
// whether it stored v. It is atomic.
func (s *Store) AddValue(key string, v any, size int, ttl time.Duration) (bool, error) {
	return s.putValue(key, v, size, ttl, true)
}

func (s *Store) putValue(key string, v any, size int, ttl time.Duration, onlyIfAbsent bool) (bool, error) {
	if err := s.checkValue(key, size, ttl, onlyIfAbsent, nil); err != nil {
		return false, err
	}
	return s.put(key, newValueEntry(key, v, int64(size), s.deadline(ttl)), valueSize(key, size), onlyIfAbsent)
}

// checkValue is the check of a Go value's write of size under key (see
// checkSize for one too large, and for keep).
func (s *Store) checkValue(key string, size int, ttl time.Duration, onlyIfAbsent bool, keep *any) error {
	if err := s.checkWrite(ttl); err != nil {
		return err
	}
	if size < 0 {
		return fmt.Errorf("simple: size is %d, want 0 or more", size)
	}
	return s.checkSize(key, valueSize(key, size), onlyIfAbsent, keep)
}

// ResizeValue changes what the Go value v, stored under key by StoreValue
// or AddValue, counts against MaxBytes to len(key)+size+ValueOverhead, as
// if it had been stored with size, and reports whether it did. It is for a
// caller that learns what a value holds only after storing it (package
// caching's near cache counts a value it decodes once it is decoded), so
// that MaxBytes bounds what the store really holds.
//
// It changes nothing and reports false unless key holds that very value,
// live: not after it was overwritten, deleted, evicted or expired. v must
// be a pointer, map, channel or func, matched by identity (the same one),
// never compared with ==; any other value gets false, as Go may box equal
// values of other types in one place (small integers, zero values,
// constant strings), so that a value stored in place of v could not be
// told from it. A negative size, or a store that is closed, also gets
// false.
//
// The entry keeps its expiry and its use for eviction (a resize is not a
// use), and its value is not told it was dropped (see Dropper). A value
// grown past the room left evicts other entries to make room, as a write
// does (OnEvict is told); one grown past MaxValueSize is removed, as a
// write of that size would leave nothing, and the call reports false.
func (s *Store) ResizeValue(key string, v any, size int) bool {
	if size < 0 || s.closed.Load() {
		return false
	}
	sz := valueSize(key, size)
	h, sh := s.hash(key)
	collect := s.onEvict != nil
	sh.mu.Lock()
	if s.closed.Load() { // closed since the check above: Close may have reset sh
		sh.unlock()
		return false
	}
	loc, old := sh.lookup(key, h)
	if old == nil || !old.isValue() || !sameValue(old.value(), v) ||
		old.expireAt != 0 && expired(old.expireAt, s.now()) {
		sh.unlock()
		return false
	}
	if sz > s.maxEntrySize {
		sh.remove(sh.slotAt(loc))
		sh.unlock()
		return false
	}
	var evicted []string
	if sz != old.size() {
		// A new entry with the same key, value and deadline: readers load
		// entries without the lock, so a published one never changes. The
		// visited bit is in the index, where it stays; the value is not
		// dropped, so the count of Droppers stays too.
		g, j := sh.at(loc)
		g.ptr[j].Store(newValueEntry(old.key(), v, int64(size), old.expireAt))
		sh.bytes += sz - old.size()
		evicted = sh.makeRoom(0, 0, loc, s.now, collect, nil)
	}
	s.unlockNotify(sh, evicted)
	return true
}

// valueSize is what a Go value of size (0 or more) stored under key counts
// against MaxBytes: len(key)+size+ValueOverhead, or math.MaxInt64 where
// that sum would overflow. A size over maxEntrySize is over every store's
// MaxValueSize anyway, and refusing it keeps the sum from wrapping round to
// a small or negative size and the size from reaching the bits of an
// entry's vlen that mark a Dropper.
func valueSize(key string, size int) int64 {
	if int64(size) > maxEntrySize {
		return math.MaxInt64
	}
	return int64(len(key)) + int64(size) + ValueOverhead
}

// sameValue reports whether a and b are the same pointer, map, channel or
// func: the same dynamic type and the same data word, which for those is
// the pointer itself. For a value of any other type it reports false (its
// data word points to a boxed copy, which Go may share between equal
// values). It never panics, whatever the type.
func sameValue(a, b any) bool {
	if a == nil {
		return false
	}
	switch reflect.TypeOf(a).Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
	default:
		return false
	}
	type eface struct{ typ, data unsafe.Pointer }
	ea, eb := (*eface)(unsafe.Pointer(&a)), (*eface)(unsafe.Pointer(&b))
	return ea.typ == eb.typ && ea.data == eb.data
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
			now := s.writeNow()
			for i := range s.shards {
				s.shards[i].sweep(now)
			}
		}
	}
}
