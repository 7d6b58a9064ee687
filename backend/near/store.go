package near

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/decimal"
	"github.com/go-caching/caching/internal/keyerrs"
	"github.com/go-caching/caching/internal/ratelimit"
)

// ErrInvalidOption is wrapped by every error New returns for invalid
// Options; the error text names the field and the valid range. It is
// backend.ErrInvalidOption.
var ErrInvalidOption = backend.ErrInvalidOption

// ErrWatchRefused is wrapped by Stats.WatchError (and so by WaitWatching's
// error) when the remote store's server refuses the watch itself: an ACL
// without CLIENT TRACKING (or HELLO), a renamed or unknown command, a bad
// password. The near cache stays out of use until the server's
// configuration changes; a lost connection or a server down is not a
// refusal. It is backend.ErrWatchRefused.
var ErrWatchRefused = backend.ErrWatchRefused

// errClosed is the error of a call after Close.
var errClosed = fmt.Errorf("near: %w", backend.ErrClosed)

var (
	_ backend.NearCache     = (*Store)(nil)
	_ backend.NearResizer   = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.SetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
	_ backend.Statser       = (*Store)(nil)
)

// nBuckets is the number of invalidation buckets: a value read before a
// change of another key of its bucket is refused too, never one read
// before a change of its own key.
const nBuckets = 1024

// bucket orders the keeping and the dropping of the keys that hash to it.
type bucket struct {
	mu   sync.Mutex
	last uint64 // the sequence number of the last drop of one of its keys
}

// Store is a near cache: a backend.Backend that wraps a remote one (Redis,
// memcached) and keeps, in process memory, what the caching package decoded
// from it (backend.NearCache), so that a hit costs what a hit on the
// in-process store costs. Create it with New or Must; the zero value is not
// usable. It is safe for concurrent use by multiple goroutines.
//
// Every Backend method goes to the remote store; those that change keys
// (Set, Add, Delete, SetMany, Incr, Clear) then drop them from process
// memory, so that a process never serves its own overwritten values. The
// keys other processes change are dropped on the remote store's news of
// them (see Watcher); without news (memcached), a value is served from
// memory for at most MaxStale. See the package documentation for the
// guarantees.
//
// A Store runs the goroutines of its memory's expiry sweep and of the
// remote store's watch; Close stops them and closes the remote store.
type Store struct {
	remote  backend.Backend
	many    backend.GetManyer
	setMany backend.SetManyer
	incr    backend.Incrementer
	has     backend.Haser
	counter backend.DeleteCounter
	statser backend.Statser

	mem      *simple.Store
	maxStale time.Duration
	clock    func() time.Time
	// start is the clock's reading when the Store was made: a token's At
	// is the time since (see NearToken).
	start time.Time
	// realClock: clock is time.Now, and the time since start is read from
	// boot instead, which counts a suspend (see elapsed).
	realClock bool
	boot      boottime.Clock
	seed      maphash.Seed

	// seq counts the drops and emptyings, from 1: a token holds its value.
	seq atomic.Uint64
	// watching: invalidations arrive. Changed only under mu's write lock.
	watching atomic.Bool

	// mu is held for writing to empty memory and change watching, and for
	// reading by StoreNear, so that nothing read before an emptying is
	// kept after it.
	mu      sync.RWMutex
	flushed uint64        // seq of the last emptying; under mu
	ready   chan struct{} // closed while watching; under mu

	buckets [nBuckets]bucket

	watch io.Closer // nil without a Watcher
	// watchErr is watch's Err, if it has one: set once WatchInvalidations
	// returns, while the watch may already call state, which reads it.
	watchErr  atomic.Pointer[errer]
	closed    atomic.Bool
	done      chan struct{} // closed by Close, once the watch is stopped
	closeOnce sync.Once
	closeErr  error

	hits, misses, kept, refused, invalidations, emptied atomic.Int64

	log      *slog.Logger // nil: no records
	logLimit *ratelimit.Limiter
	// logMu orders logWatch's calls: the Watcher's state (never
	// concurrently with itself) and New's, once it has stored watchErr.
	logMu sync.Mutex
	// logged is what the last record said of the watch; under logMu.
	logged watchLog
}

// watchLog is what a Store last logged of its watch.
type watchLog uint8

const (
	watchLogOK      watchLog = iota // nothing wrong, or in use again
	watchLogFailed                  // out of use: a failure other than a refusal
	watchLogRefused                 // out of use: the server refuses the watch
)

// New returns a Store in front of remote. When remote is a Watcher (a
// Redis store), New starts watching it, and the near cache is bypassed
// until the watch is established (WaitWatching waits for it); an error
// starting the watch (a kind of Redis client that cannot be watched) is
// returned. Otherwise values are kept for at most MaxStale. The Store owns
// remote: Close closes it.
func New(remote backend.Backend, opts Options) (*Store, error) {
	if remote == nil {
		return nil, fmt.Errorf("near: the remote store is nil: %w", ErrInvalidOption)
	}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	mem, err := simple.New(simple.Options{MaxEntries: opts.MaxEntries, MaxBytes: opts.MaxBytes, Clock: opts.Clock})
	if err != nil {
		return nil, fmt.Errorf("near: %w", err) // simple's own wraps ErrInvalidOption
	}
	s := &Store{
		remote:   remote,
		mem:      mem,
		maxStale: opts.MaxStale,
		clock:    opts.Clock,
		seed:     maphash.MakeSeed(),
		ready:    make(chan struct{}),
		done:     make(chan struct{}),
		log:      opts.Logger,
		logLimit: ratelimit.New(time.Minute, 3),
	}
	s.many, _ = remote.(backend.GetManyer)
	s.setMany, _ = remote.(backend.SetManyer)
	s.incr, _ = remote.(backend.Incrementer)
	s.has, _ = remote.(backend.Haser)
	s.counter, _ = remote.(backend.DeleteCounter)
	s.statser, _ = remote.(backend.Statser)
	if s.maxStale == 0 {
		s.maxStale = DefaultMaxStale
	}
	if s.clock == nil {
		s.clock, s.realClock = time.Now, true
		s.boot.Init()
		s.start = s.boot.Start()
	} else {
		s.start = s.clock()
	}
	s.seq.Store(1)
	w, ok := remote.(Watcher)
	if !ok {
		s.setWatching(true)
		return s, nil
	}
	if s.watch, err = w.WatchInvalidations(s.changed, s.setWatching); err != nil {
		_ = mem.Close()
		return nil, fmt.Errorf("near: watch the remote store: %w", err)
	}
	if e, ok := s.watch.(errer); ok {
		s.watchErr.Store(&e)
		// A failure the watch reported before Err could be read here (its
		// first attempt refused at once) is logged now, not at its next
		// attempt (5s later after a refusal on Redis).
		s.logWatch(false)
	}
	return s, nil
}

// Must is New for program start-up: it panics on an error.
func Must(remote backend.Backend, opts Options) *Store {
	s, err := New(remote, opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Remote returns the store the Store wraps. Writes made to it directly are
// not dropped from this process's memory until the remote store's news of
// them arrives (or MaxStale passes).
func (s *Store) Remote() backend.Backend { return s.remote }

// WaitWatching returns nil once the near cache is in use (invalidations
// arrive; at once for a remote store that is not a Watcher), an error
// wrapping ctx's and, where the watch tells, why it is not established
// (NearStats' WatchError), or, once the Store is closed (also while it
// waits), an error wrapping backend.ErrClosed. The near cache may stop
// being used again at any time.
//
// It is meant for an optional, bounded wait at start-up (so that the first
// requests already use the near cache), not for a readiness probe: the
// Store answers while the watch is down, from the remote store, or the
// Cache fails open while that is down too, so a probe that waits for the
// watch takes every replica out of service at once when Redis restarts
// or fails over. Monitor NearStats' Watching and WatchError instead.
func (s *Store) WaitWatching(ctx context.Context) error {
	s.mu.RLock()
	ready := s.ready
	s.mu.RUnlock()
	select {
	case <-ready:
		if s.closed.Load() {
			return errClosed
		}
		return nil
	case <-s.done:
		return errClosed
	case <-ctx.Done():
		if werr := s.watchError(); werr != nil {
			return fmt.Errorf("near: not watching: %w (the watch's last error: %w)", ctx.Err(), werr)
		}
		return ctx.Err()
	}
}

// errer is the watch's optional Err method (see Watcher).
type errer interface{ Err() error }

// watchError returns the watch's Err (see Watcher), or nil.
func (s *Store) watchError() error {
	if w := s.watchErr.Load(); w != nil && !s.closed.Load() {
		return (*w).Err()
	}
	return nil
}

// NearStats returns what the Store counted of its near cache.
func (s *Store) NearStats() Stats {
	m := s.mem.Stats()
	return Stats{
		Hits:          s.hits.Load(),
		Misses:        s.misses.Load(),
		Kept:          s.kept.Load(),
		Refused:       s.refused.Load(),
		Invalidations: s.invalidations.Load(),
		Emptied:       s.emptied.Load(),
		Watching:      s.watching.Load(),
		WatchError:    s.watchError(),
		Entries:       m.Entries,
		Bytes:         m.Bytes,
		Evictions:     m.Evictions,
	}
}

func (s *Store) bucket(key string) *bucket {
	return &s.buckets[maphash.String(s.seed, key)%nBuckets]
}

// LoadNear returns the value kept under key, if any and younger than
// MaxStale. now is time.Now() as the caller read it, or zero.
func (s *Store) LoadNear(key string, now time.Time) (any, bool) {
	var (
		v  any
		ok bool
	)
	if now.IsZero() {
		v, ok = s.mem.LoadValue(key)
	} else {
		v, ok = s.mem.LoadValueAt(key, now)
	}
	if ok {
		s.hits.Add(1)
	} else {
		s.misses.Add(1)
	}
	return v, ok
}

// NearToken returns the token to take before a remote read whose results
// StoreNear will keep: it holds the count of drops so far (0 while the near
// cache is bypassed) and the time, as the nanoseconds since the Store was
// made (elapsed; with the default clock, read without the wall clock but
// once a second, so that a suspend is counted from then on).
func (s *Store) NearToken() backend.NearToken {
	var t backend.NearToken
	if s.watching.Load() {
		t.Seq = s.seq.Load()
	}
	if s.realClock {
		t.At = s.boot.Now()
	} else {
		t.At = int64(s.clock().Sub(s.start))
	}
	return t
}

// elapsed is the time since the Store was made, as StoreNear reads it.
// With the default clock, time.Now, it is read on the monotonic clock,
// which a step of the wall clock (an NTP step) does not move: a value read
// while the wall clock went back is kept MaxStale from the start of its
// read, not from its end. Time the machine spent suspended, which stops
// the monotonic clock, is added (internal/boottime): a value read before
// a suspend is kept no longer than MaxStale after the read began, counting
// the suspend. An Options.Clock's readings are taken as they are.
func (s *Store) elapsed() time.Duration {
	if s.realClock {
		return time.Duration(s.boot.Check())
	}
	return s.clock().Sub(s.start)
}

// StoreNear keeps v under key for at most ttl (0: no limit of the
// caller's) and at most MaxStale after t was taken, unless key (or another
// key of its bucket) was dropped, or memory emptied, or the watch lost,
// since t was taken: then it keeps nothing. A value too large for memory
// is not kept either.
func (s *Store) StoreNear(key string, v any, size int, ttl time.Duration, t backend.NearToken) {
	// A clock stepped back since t (an Options.Clock's; time.Now's
	// monotonic reading is not) counts as no time passed, never as more
	// life.
	left := s.maxStale - max(s.elapsed()-time.Duration(t.At), 0)
	if t.Seq == 0 || left <= 0 {
		s.refused.Add(1)
		return
	}
	if ttl <= 0 || ttl > left {
		ttl = left
	}
	b := s.bucket(key)
	s.mu.RLock()
	b.mu.Lock()
	ok := s.watching.Load() && s.flushed <= t.Seq && b.last <= t.Seq
	if ok {
		ok = s.mem.StoreValue(key, v, size, ttl) == nil
	}
	b.mu.Unlock()
	s.mu.RUnlock()
	if ok {
		s.kept.Add(1)
	} else {
		s.refused.Add(1)
	}
}

// ResizeNear changes what v, kept under key by StoreNear, counts against
// MaxBytes to size, and reports whether it did (backend.NearResizer). The
// caching package calls it when it first decodes an entry kept near, with
// the size of the entry and its decoded value, which StoreNear could not
// know: so MaxBytes bounds what memory holds, decoded values included.
//
// It changes nothing and reports false unless key still keeps that very
// value (matched by identity, as backend/simple's Store.ResizeValue
// matches it): not once key was dropped, evicted, expired or kept anew, nor
// when StoreNear refused v, nor after Close. A value that grows past the
// room left evicts others; one that grows past what memory takes for one
// value is dropped, and the call reports false. The value keeps its
// deadline.
func (s *Store) ResizeNear(key string, v any, size int) bool {
	// No bucket lock: a drop removes key's value, or a later StoreNear
	// replaces it, and either makes the resize refuse; a resize that comes
	// first is dropped with the value.
	return s.mem.ResizeValue(key, v, size)
}

// DropNear removes keys from memory, and refuses what a read that began
// before keeps of them, as the Store's own writes do, without writing
// anything remote (backend.NearCache). The caching package calls it for a
// write it does not make (refused by its circuit breaker, or made with a
// context that had already ended), so that the guarantee of own writes
// holds for it too.
func (s *Store) DropNear(keys ...string) { s.dropAll(keys) }

// EmptyNear empties memory, and refuses what a read that began before
// keeps, as the Store's Clear does, without clearing anything remote
// (backend.NearCache): for a Clear the caching package does not make.
func (s *Store) EmptyNear() { s.empty(false, false) }

// drop removes key from memory and refuses, from now on, what was read
// under a token taken before.
func (s *Store) drop(key string) {
	b := s.bucket(key)
	b.mu.Lock()
	b.last = s.seq.Add(1)
	_ = s.mem.Delete(context.Background(), key)
	b.mu.Unlock()
}

// dropAll drops keys.
func (s *Store) dropAll(keys []string) {
	for _, k := range keys {
		s.drop(k)
	}
}

// empty removes everything from memory and refuses what was read under a
// token taken before; with set, it also makes watching the state.
func (s *Store) empty(set, watching bool) {
	s.mu.Lock()
	s.flushed = s.seq.Add(1)
	_ = s.mem.Clear(context.Background())
	if set {
		s.watching.Store(watching)
		select {
		case <-s.ready:
			if !watching {
				s.ready = make(chan struct{})
			}
		default:
			if watching {
				close(s.ready)
			}
		}
	}
	s.mu.Unlock()
	s.emptied.Add(1)
}

// changed is the Watcher's report of keys changed by some client.
func (s *Store) changed(keys []string) {
	if keys == nil {
		s.empty(false, false)
		return
	}
	s.invalidations.Add(int64(len(keys)))
	s.dropAll(keys)
}

// setWatching is the Watcher's report of its state. Memory is emptied both
// ways: when the watch is lost, since a change may go unreported; when it
// is back, to refuse what was read while it was away. A state(false) while
// not watching (after another failed attempt) empties nothing: nothing was
// kept since the last emptying (StoreNear keeps nothing while not
// watching); it may have a new error to log.
func (s *Store) setWatching(watching bool) {
	if watching || s.watching.Load() {
		s.empty(true, watching)
	}
	s.logWatch(watching)
}

// logWatch logs what changed of the watch (see Options.Logger): watching
// is what state reported, or false from New, which logs nothing once the
// watch is established.
func (s *Store) logWatch(watching bool) {
	if s.log == nil {
		return
	}
	s.logMu.Lock()
	defer s.logMu.Unlock()
	if !watching && s.watching.Load() {
		return // New's call after state(true): nothing failed
	}
	if watching {
		if s.logged != watchLogOK {
			s.logged = watchLogOK
			s.log.LogAttrs(context.Background(), slog.LevelInfo,
				"near: the watch of the remote store is back, the near cache is in use")
		}
		return
	}
	err := s.watchError()
	kind := watchLogFailed
	switch {
	case err == nil:
		return // being established, or closed
	case errors.Is(err, ErrWatchRefused):
		kind = watchLogRefused
	}
	if kind == s.logged {
		return
	}
	ok, suppressed := s.logLimit.Allow(s.clock())
	if !ok {
		return // logged at a later attempt, if it still fails so
	}
	s.logged = kind
	msg := "near: the watch of the remote store failed, the near cache is not used until it is back"
	if kind == watchLogRefused {
		msg = "near: the remote store refuses the watch, the near cache is not used until its configuration allows it"
	}
	s.log.LogAttrs(context.Background(), slog.LevelWarn, msg,
		slog.String("error", err.Error()), slog.Bool("refused", kind == watchLogRefused),
		slog.Int64("suppressed", suppressed))
}

// Get reads key from the remote store. (The caching package reads through
// LoadNear first; Get is the plain Backend method.)
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	return s.remote.Get(ctx, key)
}

// Set writes to the remote store, then drops key from memory.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if s.closed.Load() {
		return errClosed
	}
	err := s.remote.Set(ctx, key, value, ttl)
	s.drop(key)
	return err
}

// Add writes to the remote store if key is absent there, then drops key
// from memory if it wrote (or may have written: on an error).
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if s.closed.Load() {
		return false, errClosed
	}
	added, err := s.remote.Add(ctx, key, value, ttl)
	if added || err != nil {
		s.drop(key)
	}
	return added, err
}

// Delete deletes keys from the remote store, then from memory.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	if s.closed.Load() {
		return errClosed
	}
	err := s.remote.Delete(ctx, keys...)
	s.dropAll(keys)
	return err
}

// DeleteCount deletes keys from the remote store, then from memory, and
// returns how many held a live entry: the remote store's own count, or
// (for one that does not count) the keys a read found just before. When
// that read fails for some keys only (a *backend.GetManyError: a server of
// several down), the keys are deleted all the same, as Delete deletes
// them, and the count, not known, is an error; when the delete fails, the
// keys found are not known deleted and the count is 0.
func (s *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	defer s.dropAll(keys)
	if s.counter != nil {
		return s.counter.DeleteCount(ctx, keys...)
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	vals, err := s.GetMany(ctx, keys)
	var partial *backend.GetManyError
	switch {
	case errors.As(err, &partial):
		return 0, cmp.Or(s.remote.Delete(ctx, keys...), err)
	case err != nil:
		return 0, err
	}
	n := 0
	for _, v := range vals {
		if v != nil {
			n++
		}
	}
	if err := s.remote.Delete(ctx, keys...); err != nil {
		return 0, err // which keys were deleted is not known
	}
	return n, nil
}

// Clear clears the remote store's namespace, then empties memory. Other
// processes drop the keys on the remote store's news of their deletion
// (Redis), or within MaxStale (memcached).
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return errClosed
	}
	err := s.remote.Clear(ctx)
	s.empty(false, false)
	return err
}

// Close stops the watch, releases memory and closes the remote store; a
// WaitWatching still waiting returns. It is idempotent.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		var werr error
		if s.watch != nil {
			werr = s.watch.Close()
		}
		// The watch reports nothing more: the near cache is out of use
		// for good, and nothing read before is kept.
		s.mu.Lock()
		s.flushed = s.seq.Add(1)
		s.watching.Store(false)
		s.mu.Unlock()
		close(s.done)
		s.closeErr = errors.Join(werr, s.mem.Close(), s.remote.Close())
	})
	return s.closeErr
}

// GetMany reads keys from the remote store: in one round trip if it can,
// else one Get per key. Then a key whose read fails (its server down) does
// not stop the others: the values read are returned with a
// *backend.GetManyError naming the keys not read, wrapping the first real
// failure rather than a neutral one (backend.Neutral), as a GetMany of
// several servers answers; the call fails as a whole when no key was read.
// Once ctx is done after a failure, the keys left are noted unread, not
// read.
func (s *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	if s.closed.Load() {
		return nil, errClosed
	}
	if s.many != nil {
		return s.many.GetMany(ctx, keys)
	}
	out := make([][]byte, len(keys))
	var (
		unread []int
		first  error
		minor  bool // first is neutral
	)
	for i, k := range keys {
		if first != nil && ctx.Err() != nil {
			for j := i; j < len(keys); j++ {
				unread = append(unread, j)
			}
			break
		}
		v, err := s.remote.Get(ctx, k)
		switch {
		case err == nil:
			out[i] = v
		case !errors.Is(err, backend.ErrNotFound):
			if m := backend.Neutral(err); first == nil || minor && !m {
				first, minor = err, m
			}
			unread = append(unread, i)
		}
	}
	switch {
	case first == nil:
		return out, nil
	case len(unread) == len(keys):
		return nil, first
	}
	return out, &backend.GetManyError{Unread: unread, Keys: len(keys), Err: first}
}

// SetMany writes items to the remote store (in one round trip if it can,
// else one Set per item, an item that fails not stopping the others), then
// drops their keys from memory.
func (s *Store) SetMany(ctx context.Context, items []backend.Item) error {
	if s.closed.Load() {
		return errClosed
	}
	var err error
	if s.setMany != nil {
		err = s.setMany.SetMany(ctx, items)
	} else {
		// One that fails (its server down) does not stop the others.
		var failed keyerrs.Failures
		for _, it := range items {
			if e := s.remote.Set(ctx, it.Key, it.Value, it.TTL); e != nil {
				failed.Add(e, backend.Neutral(e))
			}
		}
		err = failed.JoinAs(nil, "stored")
	}
	for _, it := range items {
		s.drop(it.Key)
	}
	return err
}

// Incr adds delta to the counter under key in the remote store, then drops
// key from memory. It is atomic when the remote store has counters (every
// store of this module does); on one without, it reads and writes back, as
// the caching package would, so concurrent increments may be lost and the
// counter written back never expires: it then counts only from an integer
// as strconv.FormatInt writes it, and a value
// that is not one, or a result past the int64 range, gives an error
// wrapping backend.ErrNotInteger, as the stores' own counters do.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, errClosed
	}
	defer s.drop(key)
	if s.incr != nil {
		return s.incr.Incr(ctx, key, delta)
	}
	var n int64
	v, err := s.remote.Get(ctx, key)
	switch {
	case err == nil:
		var ok bool
		if n, ok = decimal.Parse(string(v)); !ok {
			return 0, fmt.Errorf("near: incr: %w", backend.ErrNotInteger)
		}
	case !errors.Is(err, backend.ErrNotFound):
		return 0, err
	}
	cur := n
	if n += delta; (delta > 0 && n < cur) || (delta < 0 && n > cur) {
		// As the backends' own counters answer, rather than wrap around.
		return 0, fmt.Errorf("near: incr: the result would overflow int64: %w", backend.ErrNotInteger)
	}
	return n, s.remote.Set(ctx, key, strconv.AppendInt(nil, n, 10), 0)
}

// Has asks the remote store whether key is present.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	if s.closed.Load() {
		return false, errClosed
	}
	if s.has != nil {
		return s.has.Has(ctx, key)
	}
	_, err := s.remote.Get(ctx, key)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, backend.ErrNotFound):
		return false, nil
	}
	return false, err
}

// Stats returns the remote store's Stats (all -1 if it reports none); the
// near cache's own figures are in NearStats.
func (s *Store) Stats() backend.Stats {
	if s.statser != nil {
		return s.statser.Stats()
	}
	return backend.Stats{Entries: -1, Bytes: -1, Evictions: -1}
}
