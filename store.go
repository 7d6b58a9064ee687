package caching

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/breaker"
	"github.com/go-caching/caching/internal/decimal"
	"github.com/go-caching/caching/internal/keyerrs"
)

// store is the Cache's one seam between the two kinds of backend. Nothing
// above it (views, Memoize, the typed and direct APIs) tells them apart.
//
//   - An in-process store (a backend.ValueStore, such as backend/simple)
//     keeps Go values: an entry is kept as its *entry, with its payload
//     decoded (entry.value), so that a hit decodes nothing; a tag version is
//     kept as a version value.
//   - Any other store keeps bytes: an entry is encoded in the envelope of
//     entry.go, a version as decimal text (see formatVersion).
//   - A remote store with a near cache (a backend.NearCache, such as
//     backend/near) also keeps, in process memory, the entries it decoded
//     and the versions it read, as an in-process store keeps them: lookup
//     finds them there first and reads nothing remote when it can, and
//     keeps what a remote read returns (see keepNear). The near cache drops
//     what any process changes.
//
// Every read and write of entries and versions goes through the methods
// below: lookup (an entry checked against its tags' versions), versions (the
// versions an entry will be written under, created where missing), save
// and add (an entry written with the TTL its times and versions allow). The
// raw byte calls of a remote store are the primitives at the end of the
// file.
type store struct {
	b       backend.Backend
	local   backend.ValueStore // b, when it keeps Go values in memory
	near    backend.NearCache  // b, when it keeps near what it reads remote (local is nil)
	many    backend.GetManyer  // b, when it reads several keys at once
	setMany backend.SetManyer  // b, when it writes several keys at once
	// discards: b keeps nothing (backend.Discarder), so that a version it
	// cannot read back was never kept rather than invalidated.
	discards bool
	// pins is local, when it keeps values apart from its entries for as
	// long as it lives (backend/simple's Pin): the generations of memoized
	// functions live there, in memory (see generation).
	pins pinner
	// direct is b when it is backend/simple's store, which lookupBytes
	// calls without an interface: a key built in the caller's stack buffer
	// then stays there (through an interface it would escape to the heap).
	direct *simple.Store

	clock func() time.Time
	// realClock: clock is time.Now (or, for an in-process store,
	// monotonicClock), the clock an in-process store expires entries by, so
	// that an entry whose store TTL ends with it
	// (entry.storeExpires) needs no clock reading to be known alive.
	realClock bool
	timeout   time.Duration // Options.Timeout: the bound of a fail-open call
	// pathTags starts the keys of per-path tag versions, the only versions
	// that expire (see versionTTL).
	pathTags string
	// hostTags starts the keys of per-host, per-path tag versions
	// (Options.HostScopedWrites), which expire as pathTags' do.
	hostTags string
	// genTags starts the keys of memoized functions' generations.
	genTags string

	// br guards a remote backend: after consecutive failures it refuses
	// calls for a cool-down, so that a dead server costs a request an
	// atomic load, not a dial. Nil for in-process stores.
	br *breaker.Breaker
	// shortRun counts the calls that a short caller's deadline ended
	// (expiredShort) since the last success; shortExcused of them in a
	// row are excused, and those past it are failures (see report).
	shortRun     atomic.Int64
	shortExcused int64

	stats    *counters
	failOpen func(op string, err error)
	obs      Observer // Options.Observer: told of every primitive call

	// wake is told of every call that succeeds, for the retries of failed
	// invalidations (invalidate_retry.go): while they wait, the first one
	// wakes them.
	wake retryWake
	// pending is the set of keys whose invalidation failed, retried
	// (invalidate_retry.go): lookups make a miss of what it ends.
	pending pendingInvalidations
	// created is the set of path version keys that view runs in progress
	// created and may delete (createdKeys): a save under one marks it.
	created createdKeys
	// deciding are the path version keys whose run's decision
	// (view.decideAfter) is being made on a goroutine of its own: a read of
	// their versions waits for it (versionsExpiring).
	deciding decidingKeys

	// invalidations counts the invalidations of this process (tags, paths,
	// generations), each once its delete has returned (the retry of one
	// that failed, once it lands: reinvalidate): a computation
	// shared in flight that began before one is not handed to a caller
	// that came after it (see Memoized.do).
	invalidations atomic.Uint64
	// invalidated counts the invalidations of this process that succeeded
	// (their delete returned nil), the retries' included: a view's waiter
	// that came after one is not handed a run begun before it (view.stale;
	// a failed one is the retry set's to answer, key by key, and counting
	// it would have every waiter of an outage run the handler again).
	invalidated atomic.Uint64
	// clears counts the Clears of this process, twice each: as one begins
	// and once its backend call returned (each under clearMu). A view's
	// run and a memoized computation read it before they read anything,
	// and store their result only while it has not changed (unlessCleared),
	// so that a response or result made from data read before a Clear is
	// not stored after it (the data may have changed before the Clear:
	// "update the database, then clear the cache"); a view's waiters are
	// not handed such a response either (view.stale). A Clear also counts
	// as an invalidation, once it returned.
	clears atomic.Uint64
	// clearMu orders a Clear against those stores: one under way when the
	// Clear begins ends before its backend call (which removes what it
	// wrote); one that begins after stores nothing.
	clearMu sync.RWMutex
}

// clearing counts a Clear, as it begins and once it returned (clears).
func (s *store) clearing() {
	s.clearMu.Lock()
	s.clears.Add(1)
	s.clearMu.Unlock()
}

// unlessCleared runs save, the store of a result whose work began when
// clears was since, unless a Clear began since then; it reports whether
// save ran.
func (s *store) unlessCleared(since uint64, save func()) bool {
	s.clearMu.RLock()
	defer s.clearMu.RUnlock()
	if s.clears.Load() != since {
		return false
	}
	save()
	return true
}

// minStoreTTL is the TTL of an entry written when its life is already over:
// it is still written, so that it replaces what was under its key, but no
// reader serves it.
const minStoreTTL = time.Millisecond

// pinner is the optional capability of an in-process store to keep values
// apart from its entries, never evicted, expired or deleted, for as long as
// it lives (backend/simple's Pin).
type pinner interface {
	Pin(key string, v any) any
}

// inProcess finds the optional capabilities of an in-process store, and
// gives it a cheaper clock than time.Now (see monotonicClock).
func (s *store) inProcess() {
	if s.local == nil {
		return
	}
	s.pins, _ = s.local.(pinner)
	s.direct, _ = s.b.(*simple.Store)
	if s.realClock {
		s.clock = monotonicClock()
	}
}

// monotonicClock returns a clock that reads the monotonic clock only: a
// reading of time.Now, its anchor, advanced by the monotonic time elapsed
// since. It costs one clock read where time.Now costs two (the wall clock
// and the monotonic one), which on some virtual machines is a tenth of a
// response cache hit. Its readings carry the monotonic reading, so that the
// in-process store's expiry and Age (durations, and comparisons of two
// readings) are exact. The anchor is taken again every reanchorEvery, so
// that the wall clock part follows the system's when that is set or
// stepped (as SharedCache's age of a response compares it with the
// origin's Date) within that time, at the cost of one time.Now a second.
func monotonicClock() func() time.Time { return newMonoClock().now }

// monoClock is monotonicClock's state: its anchor, a time.Now reading.
type monoClock struct{ anchor atomic.Pointer[time.Time] }

func newMonoClock() *monoClock {
	c := new(monoClock)
	start := time.Now()
	c.anchor.Store(&start)
	return c
}

func (c *monoClock) now() time.Time {
	a := c.anchor.Load()
	if d := time.Since(*a); d < reanchorEvery {
		return a.Add(d)
	}
	now := time.Now()
	c.anchor.Store(&now)
	return now
}

// reanchorEvery is how often monotonicClock reads the wall clock again.
var reanchorEvery = time.Second

// memVersion is a tag version held in this process's memory: a memoized
// function's generation (kind g, which ForgetAll replaces) pinned in a store
// that pins values, or any version kept in backend/simple's store, which
// tells it when the store drops it (simple.Dropper). An entry written under
// it points to it (entry.mem), so that a hit checks it with two atomic
// loads instead of a lookup of its key: it is the key's current version as
// long as it is not dropped and its number is the entry's. (Near caches and
// other stores hold versions as values, looked up by key.)
//
// A pinned generation is never dropped: ForgetAll gives it a new number in
// place, so that it is never evicted or lost and every Cache on the store
// shares it. Any other memVersion keeps its number; a new version of its
// key is a new memVersion, which the store holds in place of the dropped
// one.
type memVersion struct {
	n       atomic.Uint64 // the current version, never 0
	until   int64         // Unix nanoseconds when its key expires; 0: never
	dropped atomic.Bool
	pinned  bool // a generation: never dropped, its number changes in place
}

// memVersionSize is what a memVersion counts, besides its key, against an
// in-process store's byte bound.
const memVersionSize = int(unsafe.Sizeof(memVersion{}))

// Dropped is simple.Dropper's: the store no longer holds m, so that a
// lookup of its key would not find it.
func (m *memVersion) Dropped() { m.dropped.Store(true) }

// is reports whether m is, as far as this process knows, the current
// version n of its key. An entry checked by it lives no longer than m's key
// (store.prepare), so m's expiry needs no check.
func (m *memVersion) is(n uint64) bool { return !m.dropped.Load() && m.n.Load() == n }

// load returns m as a version.
func (m *memVersion) load() version { return version{n: m.n.Load(), until: m.until} }

// generation returns the pinned generation of the tag key k, or nil when k
// is not a generation key or the store does not pin values.
func (s *store) generation(k string) *memVersion {
	if s.pins == nil || !strings.HasPrefix(k, s.genTags) {
		return nil
	}
	g := &memVersion{pinned: true}
	g.n.Store(newVersion())
	return s.pins.Pin(k, g).(*memVersion)
}

func (s *store) now() int64 { return s.clock().UnixNano() }

// nowOr is now, or the caller's reading t when it has one.
func (s *store) nowOr(t time.Time) int64 {
	if t.IsZero() {
		return s.now()
	}
	return t.UnixNano()
}

// timeOr is the clock's reading, or the caller's reading t when it has one.
func (s *store) timeOr(t time.Time) time.Time {
	if t.IsZero() {
		return s.clock()
	}
	return t
}

// bound marks ctx for a fail-open caller (the response cache, Memoize,
// fragments, a GetOrSet load): admit bounds each backend call made under
// the context it returns by Options.Timeout, from when that call is let
// through, and by ctx's own deadline and cancellation. So a sequence of
// calls (a tag version read then created, a Vary record read and written
// before its variant) gives each call the whole Timeout, as one call has,
// and is not cut short by a backend whose every call answers within it.
// In-process stores never block: they get ctx as it is. Where exactly one
// backend call is made under it, boundOne does the same for less.
func (s *store) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.local != nil {
		return ctx, noCancel
	}
	if _, ok := ctx.(*bounded); ok {
		return ctx, noCancel // already marked: admit bounds each call
	}
	return &bounded{ctx}, noCancel
}

// boundOne is bound for a fail-open caller that makes one backend call
// under the context it returns: ctx with Options.Timeout as its deadline,
// one timer and nothing more (a hit's lookup). When the breaker is
// tripped, it will most likely refuse the call: no timer then, and the
// call it lets through as its probe is bounded by admit.
func (s *store) boundOne(ctx context.Context) (context.Context, context.CancelFunc) {
	if s.local != nil {
		return ctx, noCancel
	}
	if _, ok := ctx.(*bounded); ok {
		return ctx, noCancel
	}
	if s.br != nil && s.br.Tripped() {
		return &bounded{ctx}, noCancel
	}
	return context.WithTimeout(ctx, s.timeout)
}

// boundRead is boundOne for a getRaw of keys, which without GetMany makes
// one call per key: bound then.
func (s *store) boundRead(ctx context.Context, keys []string) (context.Context, context.CancelFunc) {
	if s.many == nil && len(keys) > 1 {
		return s.bound(ctx)
	}
	return s.boundOne(ctx)
}

// bounded marks the context of a fail-open caller (see bound): admit gives
// each backend call made under it Options.Timeout. The probe of a tripped
// breaker is bounded so whoever makes it: a probe must not wait longer
// than any other call (the backend client's own timeouts can be far
// longer), nor close the breaker by succeeding slower than the calls that
// opened it.
type bounded struct{ context.Context }

// boundKey is the key under which a bounded finds itself, under the
// contexts derived from it too.
type boundKey struct{}

func (b *bounded) Value(key any) any {
	if key == (boundKey{}) {
		return b
	}
	return b.Context.Value(key)
}

// fresh reports whether e, as lookup returned it, is within its TTL at now
// (zero: read the clock if needed). An in-process entry that the store
// expires exactly when it ends is fresh for as long as the store returns it:
// no clock is read. Any other in-process entry is fresh for its TTL of
// time elapsed since its write, a remote one until the wall clock reaches
// its end (see entry.clockAt).
func (s *store) fresh(e *entry, now time.Time) bool {
	if e.FreshUntil == 0 || e.storeExpires && s.realClock && e.FreshUntil == e.StaleUntil {
		return true
	}
	return e.clockAt(s.timeOr(now)) < e.FreshUntil
}

// lookup returns the entry under key if it is alive at now (zero: read the
// clock if needed), fresh or within its stale window, and was written under
// the current versions of tags (nil: the tags the entry records; remote
// stores then need a second round trip). With tags given, a remote store
// reads the entry and the versions in one round trip, bounded by
// Options.Timeout (it is called by fail-open callers only), unless it finds
// them all in its near cache. A miss is an error wrapping ErrNotFound; so is
// a corrupt entry, which is deleted and counted. Nothing else is counted.
func (s *store) lookup(ctx context.Context, key string, tags []string, now time.Time) (*entry, error) {
	if s.local != nil {
		return s.lookupLocal(key, tags, now)
	}
	var tok backend.NearToken
	if s.near != nil {
		if e, err := s.lookupLocal(key, tags, now); err == nil {
			return e, nil
		}
		tok = s.near.NearToken() // before the read: see keepNear
	}
	return s.lookupRemote(ctx, key, tags, now, tok)
}

// lookupRemote is lookup's read of the remote store, for a caller that
// found nothing in the near cache, if there is one, and took tok from it
// after that (the zero token without a near cache).
func (s *store) lookupRemote(ctx context.Context, key string, tags []string, now time.Time, tok backend.NearToken) (*entry, error) {
	m := s.pending.mark()
	var (
		raw      []byte
		versions [][]byte
		err      error
	)
	// Each call is bounded on its own (boundOne): a hit makes one.
	rctx, cancel := s.boundOne(ctx)
	if len(tags) > 0 && s.many != nil {
		keys := make([]string, 0, 1+len(tags))
		vals, err := s.getRaw(rctx, append(append(keys, key), tags...))
		cancel()
		if err != nil {
			return nil, err
		}
		if raw, versions = vals[0], vals[1:]; raw == nil {
			s.keepNear(tok, key, nil, tags, versions, now)
			return nil, ErrNotFound
		}
	} else {
		raw, err = s.get(rctx, key)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	e, err := decodeEntry(raw)
	if err != nil {
		s.dropCorrupt(ctx, key)
		return nil, errCorruptMiss
	}
	return s.verify(ctx, true, key, e, tags, versions, now, tok, m)
}

// verify checks a decoded remote entry: alive at now, written under tags
// (nil: its own), at the versions read with it (nil: read them now), and
// not ended by an invalidation waiting for its retry (m: the mark taken
// before the read). What it read is kept near, for a read that began with
// tok. With bound, the read of the versions is bounded by Options.Timeout.
func (s *store) verify(ctx context.Context, bound bool, key string, e *entry, tags []string, versions [][]byte, now time.Time, tok backend.NearToken, m uint64) (*entry, error) {
	if !e.alive(s.nowOr(now)) {
		return nil, ErrNotFound
	}
	if tags == nil {
		tags = e.TagKeys
	}
	if !sameKeys(e.TagKeys, tags) {
		return nil, ErrNotFound
	}
	if len(tags) > 0 && versions == nil {
		rctx, cancel := ctx, noCancel
		if bound {
			rctx, cancel = s.boundRead(ctx, tags)
		}
		var err error
		versions, err = s.getRaw(rctx, tags)
		cancel()
		if err != nil {
			return nil, err
		}
	}
	for i, raw := range versions {
		v, ok := parseVersion(raw)
		if !ok || v.n != e.Versions[i] {
			s.keepNear(tok, key, nil, tags, versions, now)
			return nil, ErrNotFound
		}
	}
	if m != 0 && s.pending.ends(m, key, e.TagKeys) {
		return nil, ErrNotFound // nothing kept near: its deletes are to come
	}
	s.keepNear(tok, key, e, tags, versions, now)
	return e, nil
}

// keepNear keeps in the near cache what a remote read that began with tok
// found: the entry e under key (nil: none), and the versions of tags (raws,
// as read). The token, taken before the read, makes the near cache refuse
// them if any of their keys changed since: so a value read just before
// another process changed it is never kept past the news of the change.
func (s *store) keepNear(tok backend.NearToken, key string, e *entry, tags []string, raws [][]byte, now time.Time) {
	if s.near == nil || tok.Seq == 0 {
		return
	}
	t := s.nowOr(now)
	for i, k := range tags {
		if v, ok := parseVersion(raws[i]); ok && (v.until == 0 || v.until > t) {
			s.near.StoreNear(k, v, len(k)+versionSize, lifeLeft(v.until, t), tok)
		}
	}
	if e != nil && e.alive(t) {
		e.near = &nearDecoded{}
		if e.size > max(len(e.Payload)/4, nearCopyAbove) {
			// The payload aliases a reply that holds more than it: mostly
			// the bytes of the tag keys, which the entry holds copies of.
			// A copy of its own frees the reply (see decodeEntry).
			e.Payload = bytes.Clone(e.Payload)
			e.size = 0
		}
		// The payload and, once decoded, its value.
		s.near.StoreNear(key, e, e.memSize()+len(e.Payload), lifeLeft(e.StaleUntil, t), tok)
	}
}

// nearCopyAbove is how many bytes of a remote reply besides its payload
// (see entry.size) make keepNear copy the payload, when they are also over a
// quarter of the payload: below, it keeps the reply, counted whole, rather
// than make a copy to free a few bytes.
const nearCopyAbove = 256

// lifeLeft is the TTL left until the deadline until (0: none) at now.
func lifeLeft(until, now int64) time.Duration {
	if until == 0 {
		return 0
	}
	return time.Duration(until - now)
}

// lookupBytes is lookup for a key held in a byte slice, which it does not
// keep: on backend/simple's store no string is made of it.
func (s *store) lookupBytes(ctx context.Context, key []byte, tags []string, now time.Time) (*entry, error) {
	if s.direct == nil {
		return s.lookup(ctx, string(key), tags, now)
	}
	storeNow := now
	if !s.realClock {
		storeNow = time.Time{} // the store reads its own clock
	}
	m := s.pending.mark()
	v, ok := s.direct.LoadValueBytesAt(key, storeNow)
	e, err := s.checkLocal(v, ok, tags, now)
	if err == nil && m != 0 && s.pending.ends(m, string(key), e.TagKeys) {
		return nil, ErrNotFound
	}
	return e, err
}

// lookupLocal is lookup in memory: the in-process store, or the near cache.
func (s *store) lookupLocal(key string, tags []string, now time.Time) (*entry, error) {
	m := s.pending.mark()
	v, ok := s.loadHeld(key, now)
	e, err := s.checkLocal(v, ok, tags, now)
	if err == nil && m != 0 && s.pending.ends(m, key, e.TagKeys) {
		return nil, ErrNotFound
	}
	return e, err
}

// checkLocal is lookupLocal's check of what memory held: an entry, alive at
// now, written under the current versions of tags.
func (s *store) checkLocal(v any, ok bool, tags []string, now time.Time) (*entry, error) {
	if !ok {
		return nil, ErrNotFound
	}
	e, ok := v.(*entry)
	if !ok {
		return nil, ErrNotFound
	}
	// The store expires an entry at its StaleUntil itself when its TTL was
	// not clamped and it reads the same clock; otherwise check.
	if (!e.storeExpires || !s.realClock || e.StaleUntil != e.FreshUntil) && !e.alive(e.clockAt(s.timeOr(now))) {
		return nil, ErrNotFound
	}
	if tags == nil {
		tags = e.TagKeys
	} else if !sameKeys(e.TagKeys, tags) {
		return nil, ErrNotFound
	}
	for i, k := range tags {
		if i < len(e.mem) && e.mem[i] != nil { // no lookup: see memVersion
			if !e.mem[i].is(e.Versions[i]) {
				return nil, ErrNotFound
			}
			continue
		}
		if v, ok := s.loadVersion(k, now); !ok || v.n != e.Versions[i] {
			return nil, ErrNotFound
		}
	}
	return e, nil
}

// loadHeld reads key from memory: the in-process store, or the near cache.
// now is the caller's reading of the clock, or zero.
func (s *store) loadHeld(key string, now time.Time) (any, bool) {
	if !s.realClock {
		now = time.Time{} // not the stores' clock
	}
	switch {
	case s.near != nil:
		return s.near.LoadNear(key, now)
	case now.IsZero():
		return s.local.LoadValue(key)
	}
	return s.local.LoadValueAt(key, now)
}

// lookupDirect reads a key of the direct API, which holds either an entry
// or, for integers written without tags (Incr's counters, Set of "42"),
// the bare decimal text, so that the backend can add to it atomically.
func (s *store) lookupDirect(ctx context.Context, key string) (e *entry, integer []byte, err error) {
	return s.lookupDirectIn(ctx, key, false)
}

// lookupDirectBounded is lookupDirect for fail-open callers (fragments):
// its remote read is bounded by Options.Timeout, and a near hit, which
// reads nothing remote, pays for no timer.
func (s *store) lookupDirectBounded(ctx context.Context, key string) (e *entry, integer []byte, err error) {
	return s.lookupDirectIn(ctx, key, true)
}

// lookupDirectIn is lookupDirect, with its remote read bounded when bound.
func (s *store) lookupDirectIn(ctx context.Context, key string, bound bool) (e *entry, integer []byte, err error) {
	if s.local != nil {
		if e, err = s.lookupLocal(key, nil, time.Time{}); err == nil {
			return e, nil, nil
		}
		// An integer is kept as bytes, where the store's Incr finds it.
		raw, err := s.get(ctx, key)
		if err != nil || !isBareValue(raw) {
			return nil, nil, notFoundOr(err)
		}
		return nil, raw, nil
	}
	var tok backend.NearToken
	if s.near != nil {
		// Integers (counters) are not kept near: they are always read.
		if e, err = s.lookupLocal(key, nil, time.Time{}); err == nil {
			return e, nil, nil
		}
		tok = s.near.NearToken()
	}
	rctx, cancel := ctx, noCancel
	if bound {
		rctx, cancel = s.boundOne(ctx)
	}
	m := s.pending.mark()
	raw, err := s.get(rctx, key)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if isBareValue(raw) {
		return nil, raw, nil
	}
	if e, err = decodeEntry(raw); err != nil {
		s.dropCorrupt(ctx, key)
		return nil, nil, ErrNotFound
	}
	e, err = s.verify(ctx, bound, key, e, nil, nil, time.Time{}, tok, m)
	return e, nil, err
}

// directFound is what lookupDirectMany found under one key: an entry, a
// bare integer, or neither.
type directFound struct {
	e       *entry
	integer []byte
}

// lookupDirectMany is lookupDirect for several keys: on a remote store with
// GetMany, one round trip for the values and one for the versions of the
// tags they record, for the keys the near cache, if any, does not hold.
// Without GetMany, each key is a lookupDirect of its own (see
// lookupDirectEach).
func (s *store) lookupDirectMany(ctx context.Context, keys []string) ([]directFound, error) {
	if s.local != nil || s.many == nil {
		return s.lookupDirectEach(ctx, keys)
	}
	if s.near == nil {
		return s.lookupRemoteMany(ctx, keys, backend.NearToken{})
	}
	out := make([]directFound, len(keys))
	missed, at := s.lookupNearMany(keys, out)
	if len(missed) == 0 {
		return out, nil
	}
	// The token is taken after memory missed, before the read: see keepNear.
	found, err := s.lookupRemoteMany(ctx, missed, s.near.NearToken())
	var ge *backend.GetManyError
	if err != nil && !errors.As(err, &ge) {
		return nil, err
	}
	for j, f := range found {
		out[at[j]] = f
	}
	if ge != nil {
		unread := make([]int, len(ge.Unread))
		for j, i := range ge.Unread {
			unread[j] = at[i]
		}
		return out, &backend.GetManyError{Unread: unread, Keys: len(keys), Err: ge.Err}
	}
	return out, nil
}

// lookupDirectEach is lookupDirectMany on a store without GetMany: a
// lookupDirect per key. A key whose read fails (its server down) does not
// stop the others, as a GetMany's server down fails its own keys only: the
// entries read are returned with a *backend.GetManyError naming the keys
// not read, wrapping the first real failure (rather than a
// backend.ErrServerDown or ErrKeyRefused, which the breaker does not count:
// see backend.Neutral). The call fails as a whole when no key was read.
// Once ctx is done, the keys left are noted unread with its error, not
// read.
func (s *store) lookupDirectEach(ctx context.Context, keys []string) ([]directFound, error) {
	out := make([]directFound, len(keys))
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
		e, integer, err := s.lookupDirect(ctx, k)
		if err != nil && !errors.Is(err, ErrNotFound) {
			m := backend.Neutral(err)
			if first == nil || minor && !m {
				first, minor = err, m
			}
			unread = append(unread, i)
			continue
		}
		out[i] = directFound{e, integer}
	}
	switch {
	case first == nil:
		return out, nil
	case len(unread) == len(keys):
		return nil, first
	}
	return out, &backend.GetManyError{Unread: unread, Keys: len(keys), Err: first}
}

// lookupNearMany looks keys up in the near cache, as lookupDirect does,
// and sets the entries it holds in out (integers are never held). It
// returns the keys it does not hold, with their indexes in keys.
func (s *store) lookupNearMany(keys []string, out []directFound) (missed []string, at []int) {
	for i, k := range keys {
		if e, err := s.lookupLocal(k, nil, time.Time{}); err == nil {
			out[i].e = e
			continue
		}
		missed = append(missed, k)
		at = append(at, i)
	}
	return missed, at
}

// lookupRemoteMany is lookupDirectMany's read of keys from a remote store
// with GetMany, for a read that began with tok (the zero token: nothing is
// kept near). When the store read some keys and not others (a
// *backend.GetManyError: a server of several down), it returns the entries
// of those read with a *backend.GetManyError naming the others, and those
// whose tags' versions could not be read: an entry is never served
// unverified.
func (s *store) lookupRemoteMany(ctx context.Context, keys []string, tok backend.NearToken) ([]directFound, error) {
	out := make([]directFound, len(keys))
	m := s.pending.mark()
	vals, err := s.getRaw(ctx, keys)
	var partial *backend.GetManyError
	if err != nil && !errors.As(err, &partial) {
		return nil, err
	}
	var unread []bool // by key; nil when every key was read
	if partial != nil {
		unread = make([]bool, len(keys))
		for _, i := range partial.Unread {
			unread[i] = true
		}
	}
	var tags []string
	seen := map[string]bool{}
	for i, raw := range vals {
		switch {
		case raw == nil:
		case isBareValue(raw):
			out[i].integer = raw
		default:
			e, err := decodeEntry(raw)
			if err != nil {
				s.dropCorrupt(ctx, keys[i])
				continue
			}
			out[i].e = e
			for _, t := range e.TagKeys {
				if !seen[t] {
					seen[t] = true
					tags = append(tags, t)
				}
			}
		}
	}
	current := make(map[string][]byte, len(tags))
	var tagUnread map[string]bool // the tags whose versions were not read
	if len(tags) > 0 {
		raws, err := s.getRaw(ctx, tags)
		var tp *backend.GetManyError
		if err != nil && !errors.As(err, &tp) {
			// No version read (every tag on a server down): the entries
			// with tags are not served, the others are.
			all := make([]int, len(tags))
			for j := range all {
				all[j] = j
			}
			tp = &backend.GetManyError{Unread: all, Keys: len(tags), Err: err}
			raws = make([][]byte, len(tags))
		}
		if tp != nil {
			tagUnread = make(map[string]bool, len(tp.Unread))
			for _, j := range tp.Unread {
				tagUnread[tags[j]] = true
			}
			if partial == nil {
				partial = tp // its error, for the entries it leaves unread
				unread = make([]bool, len(keys))
			}
		}
		for i, t := range tags {
			current[t] = raws[i]
		}
	}
	for i := range out {
		e := out[i].e
		if e == nil {
			continue
		}
		versions := make([][]byte, len(e.TagKeys))
		for j, t := range e.TagKeys {
			if tagUnread[t] {
				versions = nil
				break
			}
			versions[j] = current[t]
		}
		if versions == nil && len(e.TagKeys) > 0 {
			out[i].e = nil // its tags' versions not read: not served
			unread[i] = true
			continue
		}
		if out[i].e, err = s.verify(ctx, false, keys[i], e, nil, versions, time.Time{}, tok, m); err != nil {
			out[i].e = nil
		}
	}
	if partial == nil {
		return out, nil
	}
	var idx []int
	for i, u := range unread {
		if u {
			idx = append(idx, i)
		}
	}
	return out, &backend.GetManyError{Unread: idx, Keys: len(keys), Err: partial.Err}
}

// notFoundOr returns err, or ErrNotFound for a nil err.
func notFoundOr(err error) error {
	if err == nil || errors.Is(err, ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// nearToken is the near cache's token for a remote read, or the zero
// token (nothing is kept) without one.
func (s *store) nearToken() backend.NearToken {
	if s.near == nil {
		return backend.NearToken{}
	}
	return s.near.NearToken()
}

// dropCorrupt deletes an entry that did not decode, and counts it.
func (s *store) dropCorrupt(ctx context.Context, key string) {
	s.stats.corrupt.Add(1)
	ctx, cancel := s.boundOne(ctx)
	defer cancel()
	if err := s.del(ctx, key); err != nil {
		s.failOpen("delete corrupt entry", err)
	}
}

func sameKeys(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// versionSet is what an entry is written under: the current version of
// each of its tag keys, and the earliest expiry among those keys.
type versionSet struct {
	keys  []string
	ns    []uint64
	until int64         // Unix nanoseconds; 0: no key expires
	mem   []*memVersion // by index of keys, those held in memory (nil: none)
	// created are the per-path and ArgTags version keys this read created
	// (nil: none): the reader deletes them (forgetKeys) when nothing is
	// stored under them.
	created []string
}

// versions is the set of versions e was written under, for the callers
// that joined a computation which found e rather than computed it, to
// check: an invalidation (in another process) after the entry was read
// and before they came is not to hand it to them (doSince).
func (e *entry) versions() versionSet {
	return versionSet{keys: e.TagKeys, ns: e.Versions, mem: e.mem}
}

// versionCheck is the check, shared by the callers that waited for one
// computation (a flight's joiners, a view's waiters), that the versions it
// was computed under are still current: the first to ask reads them (on a
// remote store, one read), the others take its answer, given when the
// computation ended, so that a stampede of N callers costs one read, not N.
// The nil *versionCheck checks for each caller.
type versionCheck struct {
	once sync.Once
	ok   bool
}

// current is store.current(ctx, vs), asked once for all the callers of c.
func (c *versionCheck) current(ctx context.Context, s *store, vs versionSet) bool {
	if c == nil {
		return s.current(ctx, vs)
	}
	// Not cut short by the first caller leaving: its answer is the
	// others' (the read is bounded by Options.Timeout).
	c.once.Do(func() { c.ok = s.current(context.WithoutCancel(ctx), vs) })
	return c.ok
}

// current reports whether the versions in vs, read earlier, are still
// those of their keys: no invalidation since. Versions held in memory are
// checked there; the others with one remote read, bounded by
// Options.Timeout. A read that fails reports true: without the backend, no
// invalidation can be seen, and the caller serves what it has (fail open).
func (s *store) current(ctx context.Context, vs versionSet) bool {
	if s.discards || len(vs.ns) != len(vs.keys) {
		return true // nothing kept, or not read: nothing to compare with
	}
	var remote []int // indexes of vs.keys to read from the backend
	for i, k := range vs.keys {
		switch {
		case i < len(vs.mem) && vs.mem[i] != nil:
			if !vs.mem[i].is(vs.ns[i]) {
				return false
			}
			continue
		case s.local != nil || s.near != nil:
			if v, ok := s.loadVersion(k, time.Time{}); ok {
				if v.n != vs.ns[i] {
					return false
				}
				continue
			}
			if s.local != nil {
				return false // gone from memory: invalidated, or evicted
			}
		}
		remote = append(remote, i)
	}
	if len(remote) == 0 {
		return true
	}
	keys := make([]string, len(remote))
	for j, i := range remote {
		keys[j] = vs.keys[i]
	}
	ctx, cancel := s.boundRead(ctx, keys)
	defer cancel()
	raws, err := s.getRaw(ctx, keys)
	if err != nil {
		return true
	}
	for j, raw := range raws {
		if v, ok := parseVersion(raw); !ok || v.n != vs.ns[remote[j]] {
			return false
		}
	}
	return true
}

// versions returns the current versions of tags, giving each tag without
// one a new version whose key lives long enough for entries that live for
// life (0: forever). Callers read the versions before the work whose
// result the entry will hold: a tag invalidated while the work runs then
// makes that entry a miss.
//
// A version whose key expires (a path's) within life is renewed: replaced
// by a new random one, so that the entry written now lives its whole life
// rather than ending with the key. The entries written under the old one
// become misses then rather than when the key expires, less than one life
// later; none can come back, as no version number is ever written twice.
func (s *store) versions(ctx context.Context, tags []string, life time.Duration) (versionSet, error) {
	return s.versionsExpiring(ctx, tags, life, nil)
}

// versionsExpiring is versions where the keys in expiring (sorted: the
// tags ArgTags makes of an argument) are created to expire as a path's
// are, and are renewed as they are: a client choosing the argument must
// not leave keys that never expire.
func (s *store) versionsExpiring(ctx context.Context, tags []string, life time.Duration, expiring []string) (versionSet, error) {
	vs := versionSet{keys: tags}
	if len(tags) == 0 {
		return vs, nil
	}
	if err := s.deciding.wait(ctx, tags); err != nil {
		return vs, err
	}
	if len(tags) > maxEntryTags {
		// An entry records at most this many; checked before a version is
		// created, so that every store refuses it alike.
		return versionSet{}, fmt.Errorf("%w: %d tags; an entry holds at most %d", ErrInvalidOption, len(tags), maxEntryTags)
	}
	var raws [][]byte
	if s.local == nil && !s.versionsNear(tags) {
		tok := s.nearToken()
		var err error
		if raws, err = s.getRaw(ctx, tags); err != nil {
			return vs, err
		}
		s.keepNear(tok, "", nil, tags, raws, time.Time{})
	}
	vs.ns = make([]uint64, len(tags))
	for i, k := range tags {
		var (
			v  version
			m  *memVersion
			ok bool
		)
		if raws == nil {
			v, m, ok = s.heldVersion(k, time.Time{})
		} else {
			v, ok = parseVersion(raws[i])
		}
		if !ok || v.until != 0 && v.until-s.now() < int64(pathLife(life)) {
			var (
				err   error
				added bool
			)
			_, exp := slices.BinarySearch(expiring, k)
			if v, m, added, err = s.createVersion(ctx, k, life, ok, exp); err != nil {
				return vs, err
			}
			if added && (exp || s.isPathTag(k)) {
				vs.created = append(vs.created, k)
			}
		}
		vs.ns[i] = v.n
		if m != nil && (m.pinned || s.tellsDropped()) {
			if vs.mem == nil {
				vs.mem = make([]*memVersion, len(tags))
			}
			vs.mem[i] = m
		}
		if v.until != 0 && (vs.until == 0 || v.until < vs.until) {
			vs.until = v.until
		}
	}
	return vs, nil
}

// createVersion gives the tag key k a new random version, unless another
// writer gave it one first: then that one is returned. With renew, the
// new version replaces the one k holds. On an in-process store the version
// is a memVersion, returned as m too. added reports that k did not exist
// and holds the version returned because this call added it.
func (s *store) createVersion(ctx context.Context, k string, life time.Duration, renew, expires bool) (v version, m *memVersion, added bool, err error) {
	ttl := s.versionTTL(k, life, expires)
	v = version{n: newVersion(), until: deadline(s.now(), ttl)}
	if s.local != nil {
		m = &memVersion{until: v.until}
		m.n.Store(v.n)
	}
	if renew {
		if s.local != nil {
			return v, m, false, s.local.StoreValue(k, m, memVersionSize, ttl)
		}
		return v, nil, false, s.set(ctx, k, formatVersion(v), ttl)
	}
	// A version deleted between a failed add and the read that follows (an
	// invalidation made meanwhile, by a ForgetAll of another caller or
	// process) is created again, once. Deleted again, v is returned though
	// the key does not hold it: the tag was invalidated while the caller
	// ran, and an entry written under v is a miss, as it should be; the
	// next caller creates the key. A key holding something else than a
	// version is an error, and so is a missing one on an in-process store,
	// whose read does not tell the two apart.
	deleted := false
	for range 2 {
		if s.local != nil {
			added, err = s.local.AddValue(k, m, memVersionSize, ttl)
		} else {
			added, err = s.addRaw(ctx, k, formatVersion(v), ttl)
		}
		if err != nil || added {
			return v, m, added && err == nil, err
		}
		var (
			cur    version
			curMem *memVersion
			ok     bool
		)
		if s.local != nil {
			cur, curMem, ok = s.heldVersion(k, time.Time{})
		} else {
			raw, err := s.get(ctx, k)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return v, nil, false, err
			}
			cur, ok = parseVersion(raw)
			deleted = err != nil
		}
		if ok {
			return cur, curMem, false, nil
		}
	}
	if deleted {
		return v, nil, false, nil
	}
	return v, nil, false, errors.New("caching: a tag version key holds something that is not a version")
}

// isPathTag reports whether k is a per-path version key (InvalidatePath's,
// or a write's under Options.HostScopedWrites).
func (s *store) isPathTag(k string) bool {
	return strings.HasPrefix(k, s.pathTags) || strings.HasPrefix(k, s.hostTags)
}

// forgetKeys deletes keys, per-path and ArgTags version keys that a read
// of versions created (versionSet.created) for a response or result that
// was not stored: requests for paths that exist only once (a scan of
// random URLs answered 404), or for arguments a client makes up, must not
// leave a key each behind them. The callers track the keys while they run
// and delete only those under which nothing was stored in this process
// meanwhile (createdKeys); deleting a version key is always safe: at
// worst an entry another process stored under it becomes a miss. The
// delete runs even if the request's context has ended, bounded by
// Options.Timeout.
func (s *store) forgetKeys(ctx context.Context, keys []string) {
	if len(keys) == 0 {
		return
	}
	ctx, cancel := s.boundOne(context.WithoutCancel(ctx))
	defer cancel()
	_ = s.del(ctx, keys...) // failing open: the key expires
}

// versionTTL is the TTL of a new version of k for entries that live for
// life. Per-path versions (InvalidatePath's) are created by requests, and
// those of ArgTags by arguments (expires), so they expire: four times
// pathLife, and entries are never stored past them (see store.prepare).
// Other versions (tags a program names, Memoize generations) never expire:
// their number is the program's.
func (s *store) versionTTL(k string, life time.Duration, expires bool) time.Duration {
	if !expires && !s.isPathTag(k) {
		return 0
	}
	return 4 * pathLife(life)
}

// maxPathLife bounds the life a per-path version key is made for. Entries
// that live longer (Forever) end with their path key, at most four times
// maxPathLife after it was created, and are written again by the next
// request: with no bound, every path a client asked for would leave a key
// that never expires, one whose response was refused (a cookie) included.
// Four times it stays under memcached's 30 days, past which a TTL is read
// as a date.
const maxPathLife = 7 * 24 * time.Hour

// pathLife is the life a per-path version key is made for, for entries
// that live for life (0: forever): life, at most maxPathLife. A version
// with less than that left is renewed (see store.versions).
func pathLife(life time.Duration) time.Duration {
	if life <= 0 || life > maxPathLife {
		return maxPathLife
	}
	return life
}

// versionsNear reports whether the near cache holds a version of every
// one of tags.
func (s *store) versionsNear(tags []string) bool {
	if s.near == nil {
		return false
	}
	for _, k := range tags {
		if _, ok := s.loadVersion(k, time.Time{}); !ok {
			return false
		}
	}
	return true
}

// loadVersion reads the version of k from memory (the in-process store or
// the near cache); now is the caller's reading of the clock, or zero.
func (s *store) loadVersion(k string, now time.Time) (version, bool) {
	v, _, ok := s.heldVersion(k, now)
	return v, ok
}

// heldVersion is loadVersion, which also returns the memVersion holding
// the version when it is one (a pinned generation, or a version kept in an
// in-process store).
func (s *store) heldVersion(k string, now time.Time) (version, *memVersion, bool) {
	if g := s.generation(k); g != nil {
		return g.load(), g, true
	}
	v, ok := s.loadHeld(k, now)
	if !ok {
		return version{}, nil, false
	}
	switch v := v.(type) {
	case *memVersion:
		return v.load(), v, true
	case version: // kept near
		return v, nil, v.n != 0
	}
	return version{}, nil, false
}

// tellsDropped reports whether the store is an in-process one that tells a
// memVersion when it drops it (backend/simple's Dropper), so that entries
// may point to the memVersions they are written under.
func (s *store) tellsDropped() bool { return s.direct != nil }

// invalidate deletes the version keys of tags: every entry written under
// them becomes a miss, in every process sharing the backend, and the next
// write creates a new random version (never one an entry was written under).
// A pinned generation is given a new random version at once.
func (s *store) invalidate(ctx context.Context, tags []string) error {
	return s.invalidateCounted(ctx, tags, true)
}

// reinvalidate is invalidate for the retry of an invalidation that failed
// (invalidate_retry.go): that one was counted in invalidations when it
// failed, so a retry counts only if it lands. Each failing attempt of an
// outage counting again had every caller that joined a computation after
// it rejoin, then compute alone (doSince).
func (s *store) reinvalidate(ctx context.Context, keys []string) error {
	return s.invalidateCounted(ctx, keys, false)
}

// invalidateCounted is invalidate, counting a failure in invalidations only
// if countFailure is set.
func (s *store) invalidateCounted(ctx context.Context, tags []string, countFailure bool) error {
	for _, k := range tags {
		if g := s.generation(k); g != nil {
			g.n.Store(newVersion())
		}
	}
	err := s.del(ctx, tags...)
	if err == nil {
		s.invalidated.Add(1)
	}
	if err == nil || countFailure {
		s.invalidations.Add(1)
	}
	return err
}

// unmeasured is the size of an entry whose value is too big to measure
// (see errUnmeasured).
const unmeasured = -1

// errUnmeasured refuses to keep in process memory a value too big to
// measure (internal/memsize: one that holds more values than a walk of it
// may visit, such as a long linked list), as an in-process store refuses a
// value over its size bound: the store could not count it against its
// byte bound, which it could exceed many times over. The write takes the
// path of a value too large for the store: the older entry under its key
// is deleted (not by an Add), the caller gets this error (GetOrSet still
// returns the loaded value with it), and Memoize returns its result
// without storing it.
var errUnmeasured = fmt.Errorf("a value too big to measure: %w", backend.ErrValueTooLarge)

// save writes e under key, recording vs, with the TTL that prepare allows.
func (s *store) save(ctx context.Context, key string, e *entry, vs versionSet) error {
	return s.saveDeferred(ctx, key, e, vs, nil)
}

// notifyAfter runs save, which puts the evictions of its writes in the
// Evictions it is handed (saveDeferred, writeDeferred) and releases the
// caller's lock before it returns, and then tells OnEvict of them
// (simple.Evictions.Notify) on every way out of save: a panic that unwinds
// through it (a handler's, a codec's) must not lose the OnEvict reports of
// the writes made before it.
func notifyAfter(save func(evicted *simple.Evictions)) {
	var evicted simple.Evictions
	defer func() { evicted.Notify() }() // a closure: Notify's receiver is read as save left it
	save(&evicted)
}

// saveDeferred is save for a caller that holds a lock an in-process store's
// OnEvict may need (simple.Options.OnEvict: Memoize's write lock of key,
// which an OnEvict that forgets the evicted argument waits for): with
// evicted set, the OnEvict calls of a backend/simple store are put there,
// for the caller to make once its lock is released
// (simple.Evictions.Notify), rather than made before save returns; they
// are added to those already there. The caller must call Notify whatever
// the error: it raises a Dropper's panic that the write met, or that the
// delete met which a value too big to measure makes (errUnmeasured). Another
// in-process store calls its own callbacks, if any, as it does.
func (s *store) saveDeferred(ctx context.Context, key string, e *entry, vs versionSet, evicted *simple.Evictions) error {
	ttl := s.prepare(e, vs)
	var err error
	if s.local != nil && e.size == unmeasured {
		start := s.start()
		if evicted != nil && s.direct != nil {
			// The deleted entry's Dropper may panic: raised by Notify,
			// once the caller's lock is released, as a write's.
			var ev simple.Evictions
			ev, err = s.direct.DeleteDeferred(key)
			*evicted = evicted.Join(ev)
		} else {
			err = s.b.Delete(ctx, key)
		}
		s.observe(OpDelete, start, err)
		if err == nil {
			err = errUnmeasured
		}
	} else if s.local != nil && s.direct != nil {
		var ev simple.Evictions
		ev, err = s.direct.StoreValueDeferred(key, e, e.memSize(), ttl)
		if evicted != nil {
			// Joined, not assigned: a caller may save twice under its lock
			// (a view's Vary record, then its variant), and the first
			// save's evictions must reach OnEvict too, its Dropper's panic
			// the caller.
			*evicted = evicted.Join(ev)
		} else {
			// Told once the write is counted below: a Dropper's panic (or
			// an OnEvict's) comes once the write has landed (a SetMany's
			// is kept until its other writes are made, see writeOne), and
			// the write is counted in Stats.Sets as the others are.
			defer ev.Notify()
		}
	} else if s.local != nil {
		err = s.local.StoreValue(key, e, e.memSize(), ttl)
	} else {
		err = s.set(ctx, key, encodeEntry(e), ttl)
	}
	if err == nil {
		s.stats.sets.Add(1)
	}
	return err
}

// add is save, only if no live entry is under key; it reports whether it
// wrote e. It is atomic on every store.
func (s *store) add(ctx context.Context, key string, e *entry, vs versionSet) (bool, error) {
	ttl := s.prepare(e, vs)
	var (
		added bool
		err   error
	)
	if s.local != nil && e.size == unmeasured {
		err = errUnmeasured
	} else if s.direct != nil {
		var ev simple.Evictions
		added, ev, err = s.direct.AddValueDeferred(key, e, e.memSize(), ttl)
		defer ev.Notify() // once the add is counted below, as saveDeferred's
	} else if s.local != nil {
		added, err = s.local.AddValue(key, e, e.memSize(), ttl)
	} else {
		added, err = s.addRaw(ctx, key, encodeEntry(e), ttl)
	}
	if added {
		s.stats.sets.Add(1)
	}
	return added, err
}

// write is one write of the direct API: a bare integer (kept as bytes on
// every store, where the backend's Incr finds it), or an entry recording
// vs.
type write struct {
	key     string
	ttl     time.Duration // as resolved: 0 is forever (integers)
	integer []byte
	e       *entry
	vs      versionSet
}

// write stores ws, in one round trip on a remote store with SetMany.
// Without one, each is a call of its own, and one that fails (its server
// down, its value too large) does not stop the others: they are written,
// and the error is the first failure's, saying how many other keys were not
// stored (a real failure before a neutral one, which the breaker does not
// count). A context done fails each write left at once, as their
// own calls would (each drops its key from a near cache).
func (s *store) write(ctx context.Context, ws ...write) error {
	return s.writeDeferred(ctx, nil, ws...)
}

// writeDeferred is write for a caller that holds a lock an in-process
// store's OnEvict may need (a load's, which a write of the evicted key,
// or a Clear, waits for): the evictions of its entries' stores are put in
// evicted, as saveDeferred's, for the caller to tell once it is released.
func (s *store) writeDeferred(ctx context.Context, evicted *simple.Evictions, ws ...write) error {
	if s.local != nil || s.setMany == nil || len(ws) == 1 {
		var (
			failed keyerrs.Failures
			first  any // what a write panicked with first (see writeOne)
		)
		keep := s.local != nil && len(ws) > 1
		for _, w := range ws {
			p, err := s.writeOne(ctx, w, evicted, keep)
			if first == nil {
				first = p
			}
			if err != nil {
				failed.Add(err, backend.Neutral(err))
			}
		}
		if first != nil {
			panic(first)
		}
		return failed.JoinAs(nil, "stored")
	}
	items := make([]backend.Item, len(ws))
	for i, w := range ws {
		if w.integer != nil {
			items[i] = backend.Item{Key: w.key, Value: w.integer, TTL: w.ttl}
			continue
		}
		ttl := s.prepare(w.e, w.vs)
		items[i] = backend.Item{Key: w.key, Value: encodeEntry(w.e), TTL: ttl}
	}
	if err := s.setItems(ctx, items); err != nil {
		return err
	}
	s.stats.sets.Add(int64(len(items)))
	return nil
}

// writeOne makes w, one write of writeDeferred. With keep, what the write
// panicked with is returned rather than raised, for the caller to raise
// once its other writes are made: an in-process store panics only once
// the write is made (a Dropper's panic, see simple.Dropper, or an
// OnEvict's), and a panic of one key's must not leave the other keys
// unwritten.
func (s *store) writeOne(ctx context.Context, w write, evicted *simple.Evictions, keep bool) (panicked any, err error) {
	if keep {
		defer func() {
			if r := recover(); r != nil {
				panicked = r
			}
		}()
	}
	if w.integer == nil {
		return nil, s.saveDeferred(ctx, w.key, w.e, w.vs, evicted)
	}
	return nil, s.saveInteger(ctx, w.key, w.integer, w.ttl, evicted)
}

// saveInteger writes value, a bare integer's decimal text, under key for
// ttl, with evicted as saveDeferred's: on backend/simple's store, the
// write's OnEvict calls and what a Dropper it replaced panicked with are
// put there for the caller to tell once its lock is released, or, without
// one, told once the write is counted in Stats.Sets, as an entry's are.
func (s *store) saveInteger(ctx context.Context, key string, value []byte, ttl time.Duration, evicted *simple.Evictions) error {
	var err error
	if s.direct != nil {
		start := s.start()
		var ev simple.Evictions
		ev, err = s.direct.SetDeferred(key, value, ttl)
		s.observe(OpSet, start, err)
		if evicted != nil {
			*evicted = evicted.Join(ev)
		} else {
			defer ev.Notify()
		}
	} else {
		err = s.set(ctx, key, value, ttl)
	}
	if err == nil {
		s.stats.sets.Add(1)
	}
	return err
}

// addWrite is add for a write of the direct API.
func (s *store) addWrite(ctx context.Context, w write) (bool, error) {
	if w.integer == nil {
		return s.add(ctx, w.key, w.e, w.vs)
	}
	var (
		added bool
		err   error
	)
	if s.direct != nil {
		// As saveInteger: a Dropper's panic (or an OnEvict's) comes once
		// the add is counted below.
		start := s.start()
		var ev simple.Evictions
		added, ev, err = s.direct.AddDeferred(w.key, w.integer, w.ttl)
		s.observe(OpAdd, start, err)
		defer ev.Notify()
	} else {
		added, err = s.addRaw(ctx, w.key, w.integer, w.ttl)
	}
	if added {
		s.stats.sets.Add(1)
	}
	return added, err
}

// incr adds delta to the integer under key: with the backend's own atomic
// counter, or a read and a write back, which refuses a result past the
// int64 range with backend.ErrNotInteger as those counters do.
func (s *store) incr(ctx context.Context, key string, delta int64) (int64, error) {
	if in, ok := s.b.(backend.Incrementer); ok {
		ctx, cancel, short, err := s.admit(ctx)
		if err != nil {
			s.dropNear(key)
			return 0, err
		}
		defer cancel()
		start := s.start()
		n, err := in.Incr(ctx, key, delta)
		s.report(ctx, short, kindIncr, err)
		s.observe(OpIncr, start, err)
		return n, err
	}
	var n int64
	v, err := s.get(ctx, key)
	switch {
	case err == nil:
		var ok bool
		if n, ok = decimal.Parse(string(v)); !ok {
			return 0, backend.ErrNotInteger
		}
	case !errors.Is(err, ErrNotFound):
		return 0, err
	}
	cur := n
	if n += delta; (delta > 0 && n < cur) || (delta < 0 && n > cur) {
		// As the backends' own counters answer: wrapping to the other end
		// of the range would hand out a value already handed out.
		return 0, fmt.Errorf("the result would overflow int64: %w", backend.ErrNotInteger)
	}
	return n, s.set(ctx, key, strconv.AppendInt(nil, n, 10), 0)
}

// prepare records vs in e, ends e no later than its version keys, and
// returns the backend TTL: what is left until e.StaleUntil, or minStoreTTL
// when nothing is (the entry is still written, to replace what was there,
// and no reader serves it).
func (s *store) prepare(e *entry, vs versionSet) time.Duration {
	e.TagKeys, e.Versions, e.mem = vs.keys, vs.ns, vs.mem
	s.created.saved(vs.keys) // one atomic load while no run tracks a key
	if u := vs.until; u != 0 {
		if e.StaleUntil == 0 || u < e.StaleUntil {
			e.StaleUntil = u
		}
		if e.FreshUntil == 0 || u < e.FreshUntil {
			e.FreshUntil = u
		}
	}
	if e.StaleUntil == 0 && (e.FreshUntil == 0 || s.local == nil) {
		// No expiry to count a TTL from, and no write time to keep: a
		// remote store's entry is read by its bounds alone (a
		// SharedCache entry with validators under a Forever TTL is fresh
		// for a while and kept for good), so the clock is not read.
		e.storeExpires = true
		return 0
	}
	now := s.clock()
	if s.local != nil {
		e.setWritten(now) // see entry.clockAt
	}
	if e.StaleUntil == 0 {
		e.storeExpires = true
		return 0
	}
	ttl := time.Duration(e.StaleUntil - now.UnixNano())
	if e.storeExpires = ttl >= minStoreTTL; !e.storeExpires {
		ttl = minStoreTTL
	}
	return ttl
}

// setValue puts v in e as the store keeps it: in process, the value itself
// (sized for the store's byte bound, or marked unmeasured: see
// errUnmeasured); elsewhere, encoded by enc.
func (s *store) setValue(e *entry, v any, enc func(any) ([]byte, error)) error {
	if s.local != nil {
		s.keepValue(e, v)
		return nil
	}
	b, err := enc(v)
	if err != nil {
		return err
	}
	e.Payload = b
	return nil
}

// setEncoder is setValue for a value that encodes itself (a view's): in
// process, the value itself; elsewhere too, unencoded, for encodeEntry to
// encode in place in the entry's buffer, without a copy of its own.
func (s *store) setEncoder(e *entry, v payloadEncoder) {
	if s.local != nil {
		s.keepValue(e, v)
		return
	}
	e.value = v
}

// setBytes puts b in e as its payload, as the store keeps it: in process,
// a copy of its own, of b's exact length (the entry is kept as it is, and
// the caller may change b once the write returns); elsewhere, b itself,
// which encodeEntry copies into the envelope: the one copy the write makes.
// b must not change until the write returns.
func (s *store) setBytes(e *entry, b []byte) {
	if s.local != nil {
		b = append(make([]byte, 0, len(b)), b...)
	}
	e.Payload = b
}

// keepValue puts v in e for an in-process store, sized for its byte bound
// or marked unmeasured (see errUnmeasured).
func (s *store) keepValue(e *entry, v any) {
	n, ok := sizeOf(v)
	if !ok {
		n = unmeasured
	}
	e.value, e.size = v, n
}

// The primitives of a remote store: every byte call goes through them, and
// through the circuit breaker. A refused call returns ErrUnavailable at
// once.

// admit reports, as an error, whether a backend call may go ahead now, and
// returns the context to make it with and its cancel function: ctx, or ctx
// bounded by Options.Timeout for a call of a fail-open caller (see bound)
// and for the probe of a tripped breaker (a direct call's too: a probe
// that answers slower than the calls that opened the breaker must not
// close it). Each admitted call is bounded on its own: a caller making
// several in a row gives each the whole Timeout. A call whose context has
// already ended is not made: it would say nothing of the backend, and must
// neither count as a failure nor take the probe's turn. short reports
// whether the caller's deadline leaves the call too little time for its
// expiry to count against the backend (see shortDeadline), for report.
func (s *store) admit(ctx context.Context) (_ context.Context, _ context.CancelFunc, short bool, _ error) {
	if s.local != nil {
		return ctx, noCancel, false, nil
	}
	tripped := false
	if s.br != nil {
		if err := ctx.Err(); err != nil {
			return ctx, noCancel, false, err
		}
		tripped = s.br.Tripped()
		if !s.br.Allow() {
			s.stats.unavailable.Add(1)
			return ctx, noCancel, false, ErrUnavailable
		}
		short = s.shortDeadline(ctx)
	}
	if tripped || ctx.Value(boundKey{}) != nil {
		ctx, cancel := context.WithTimeout(ctx, s.timeout)
		return ctx, cancel, short, nil
	}
	return ctx, noCancel, short, nil
}

// minBlamedDeadline is the least time a caller's deadline must leave a
// backend call for its expiry to count as a failure of the backend, as
// the Redis store's health of a Cluster's masters has it: a backend
// answers in a millisecond or so, and Options.Timeout is 500ms by default.
const minBlamedDeadline = 100 * time.Millisecond

// shortDeadline reports whether ctx's deadline leaves a call starting now
// less than minBlamedDeadline, and less than half of Options.Timeout: the
// caller's deadline (one already nearly spent), not the Cache's own, which
// leaves each call about the whole Timeout however short it is set, and
// whose expiry always counts.
func (s *store) shortDeadline(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < min(minBlamedDeadline, s.timeout/2)
}

// expiredShort reports whether a call that short (admit) says had little
// time under ctx failed once ctx's deadline had passed: the caller's
// deadline ended it, whatever the error (a context's, a client's
// timeout), and it says nothing of the backend. A failure before that
// deadline still counts.
func expiredShort(ctx context.Context, short bool) bool {
	if !short {
		return false
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}

// excusedShort reports whether a call that short (admit) says had little
// time under ctx ended at that deadline (expiredShort) and is excused: one
// of the first shortExcused (the breaker's Threshold) in a row with no
// success between them. Past those, each counts as a failure: a service
// whose every caller has a short deadline (http.TimeoutHandler at 50 ms)
// would otherwise never open the breaker on a backend that answers
// nothing, and every request would wait its whole deadline and fail, for
// ever. A backend that answers its other callers excuses them again.
func (s *store) excusedShort(ctx context.Context, short bool) bool {
	return expiredShort(ctx, short) && s.shortRun.Add(1) <= s.shortExcused
}

func noCancel() {}

// dropNear is for a write that admit refused (the breaker is open, or the
// caller's context has ended), itself or the read of its tags' versions
// before it (direct.go): the write is not made, and a near cache,
// whose own write methods drop the keys they change whether the remote
// write succeeds or not, never sees it. It drops keys from the near cache
// all the same, so that the process never serves from memory what it meant
// to change (backend/near's guarantee of own writes), as it would not
// without a near cache.
func (s *store) dropNear(keys ...string) {
	if s.near != nil {
		s.near.DropNear(keys...)
	}
}

// The kinds of call the breaker counts failures of apart: one per backend
// operation, so that the successes of one (reads, small Adds) do not hide
// the failures of another (Sets of large values that hang). See
// breaker.Kind.
const (
	kindGet breaker.Kind = iota
	kindGetMany
	kindSet
	kindSetMany
	kindAdd
	kindDelete
	kindIncr
	kindClear
)

// report records the outcome of an admitted call of kind k for the breaker,
// and tells the retries of failed invalidations of a success (store.wake).
// An answer of the backend (a miss, a value too large, not an integer) is a
// success; a call whose caller cancelled it says nothing, nor does one the
// backend refused at once because the server of its key is marked down
// (backend.ErrServerDown: its other servers serve, and the failures that
// marked that server down were counted: it counts in Stats.Unavailable),
// nor does one whose server answered it with an error while it answers
// other keys normally (backend.ErrKeyRefused: a proxy with one upstream
// dead; the call was made, and counts in Stats.Errors). Such a call, if it
// was the probe of a half-open breaker, hands the probe's turn back
// (breaker.Release), so that the next call probes at once rather than a
// Cooldown later, refused meanwhile. Nor does one that ended at its
// caller's deadline when that deadline left it less than 100ms (short,
// from admit: see shortDeadline), as for the Redis store's Cluster masters:
// a caller nearly out of time says nothing of the backend, unless no
// success comes between Threshold of them (excusedShort). A timeout
// (Options.Timeout, however short, or the caller's own longer deadline) or
// any other error is a failure.
func (s *store) report(ctx context.Context, short bool, k breaker.Kind, err error) {
	if s.local != nil {
		return // never down: no breaker, and no failed invalidation waits
	}
	switch {
	case err == nil, errors.Is(err, ErrNotFound), errors.Is(err, backend.ErrValueTooLarge),
		errors.Is(err, backend.ErrNotInteger), errors.Is(err, backend.ErrInvalidTTL):
		s.wake.answered()
		if s.br != nil {
			if s.shortRun.Load() != 0 { // read only: no shared write per success
				s.shortRun.Store(0)
			}
			s.br.Success(k)
		}
	case callerEnded(ctx, err), s.excusedShort(ctx, short), errors.Is(err, backend.ErrClosed), backend.Neutral(err):
		if errors.Is(err, backend.ErrServerDown) {
			s.stats.unavailable.Add(1) // not made, as the breaker's refusals
		}
		if s.br != nil {
			s.br.Release() // a probe that said nothing hands its turn back
		}
	case s.br != nil:
		s.br.Failure(k)
	}
}

// callerEnded reports whether err is the caller's cancellation of ctx (its
// client left), which says nothing of the backend. A deadline does: the
// Cache's own (Options.Timeout) or the caller's, shorter than it (a handler
// under http.TimeoutHandler), unless it left the call less than 100ms
// (expiredShort). A backend too slow for its callers' deadlines makes
// every request wait its whole deadline and fail, where without the cache
// it would have been served: the breaker opens, and the cache fails open.
func callerEnded(ctx context.Context, err error) bool {
	return errors.Is(err, context.Canceled) && ctx.Err() != nil
}

func (s *store) get(ctx context.Context, key string) ([]byte, error) {
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		return nil, err
	}
	defer cancel()
	start := s.start()
	v, err := s.b.Get(ctx, key)
	s.report(ctx, short, kindGet, err)
	s.observe(OpGet, start, err)
	return v, err
}

// getRaw reads keys in one round trip where the backend can: one slot per
// key, nil for a miss.
// Without GetMany, each key is one call (get), with its own Timeout.
func (s *store) getRaw(ctx context.Context, keys []string) ([][]byte, error) {
	if s.many != nil {
		ctx, cancel, short, err := s.admit(ctx)
		if err != nil {
			return nil, err
		}
		defer cancel()
		start := s.start()
		vals, err := s.many.GetMany(ctx, keys)
		s.report(ctx, short, kindGetMany, err)
		s.observe(OpGetMany, start, err)
		if err == nil && len(vals) != len(keys) {
			err = fmt.Errorf("caching: backend GetMany returned %d values for %d keys", len(vals), len(keys))
		}
		return vals, err
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		v, err := s.get(ctx, k)
		switch {
		case err == nil:
			vals[i] = v
		case !errors.Is(err, ErrNotFound):
			return nil, err
		}
	}
	return vals, nil
}

func (s *store) set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		s.dropNear(key)
		return err
	}
	defer cancel()
	start := s.start()
	err = s.b.Set(ctx, key, value, ttl)
	s.report(ctx, short, kindSet, err)
	s.observe(OpSet, start, err)
	return err
}

func (s *store) addRaw(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		s.dropNear(key)
		return false, err
	}
	defer cancel()
	start := s.start()
	added, err := s.b.Add(ctx, key, value, ttl)
	s.report(ctx, short, kindAdd, err)
	s.observe(OpAdd, start, err)
	return added, err
}

// setItems writes items in one round trip, with the backend's SetMany: its
// one caller, write, calls it only on a remote store that has one (without
// one, write sets each key on its own, going on past a key that fails).
func (s *store) setItems(ctx context.Context, items []backend.Item) error {
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		for _, it := range items {
			s.dropNear(it.Key)
		}
		return err
	}
	defer cancel()
	start := s.start()
	err = s.setMany.SetMany(ctx, items)
	s.report(ctx, short, kindSetMany, err)
	s.observe(OpSetMany, start, err)
	return err
}

func (s *store) del(ctx context.Context, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		s.dropNear(keys...)
		return err
	}
	defer cancel()
	start := s.start()
	err = s.b.Delete(ctx, keys...)
	s.report(ctx, short, kindDelete, err)
	s.observe(OpDelete, start, err)
	return err
}

// delCount deletes keys and returns how many of them held a live entry:
// the backend's own count where it has one (backend.DeleteCounter), else
// the keys found by a read just before the delete, which writers racing
// with it can make off. With an error it returns the backend's count (the
// keys it knows it deleted), or 0 from the read's fallback, which knows of
// none deleted.
func (s *store) delCount(ctx context.Context, keys ...string) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	if dc, ok := s.b.(backend.DeleteCounter); ok {
		ctx, cancel, short, err := s.admit(ctx)
		if err != nil {
			s.dropNear(keys...)
			return 0, err
		}
		defer cancel()
		start := s.start()
		n, err := dc.DeleteCount(ctx, keys...)
		s.report(ctx, short, kindDelete, err)
		s.observe(OpDelete, start, err)
		return n, err
	}
	keys = slices.Compact(slices.Sorted(slices.Values(keys)))
	n := 0
	if s.local != nil {
		for _, k := range keys {
			if _, ok := s.local.LoadValue(k); ok {
				n++
			} else if _, err := s.get(ctx, k); err == nil {
				n++
			}
		}
	} else {
		vals, err := s.getRaw(ctx, keys)
		if err != nil {
			return 0, err
		}
		for _, v := range vals {
			if v != nil {
				n++
			}
		}
	}
	if err := s.del(ctx, keys...); err != nil {
		return 0, err
	}
	return n, nil
}

// clear removes every entry of the store, and ends the work in flight
// that began before it (see clears).
func (s *store) clear(ctx context.Context) error {
	return s.clearCounted(ctx, true)
}

// reclear is clear for the retry set that overflowed (Cache.clearOverflow):
// the invalidations it stands for were counted when they failed, so an
// attempt counts in invalidations only if it lands; each failing attempt
// of an outage counting again had every caller that joined a computation
// since rejoin, then compute alone (doSince), when every lookup misses and
// sharing a computation is all that spares fn. It still counts in clears,
// before and after, as every clear must (a write begun before it must not
// land after it).
func (s *store) reclear(ctx context.Context) error {
	return s.clearCounted(ctx, false)
}

// clearCounted is clear, counting a failure in invalidations only if
// countFailure is set.
func (s *store) clearCounted(ctx context.Context, countFailure bool) (err error) {
	s.clearing()
	defer func() {
		s.clearing()
		if err == nil || countFailure {
			s.invalidations.Add(1)
		}
	}()
	ctx, cancel, short, err := s.admit(ctx)
	if err != nil {
		if s.near != nil {
			s.near.EmptyNear() // as dropNear does for the keys of other writes
		}
		return err
	}
	defer cancel()
	start := s.start()
	err = s.b.Clear(ctx)
	s.report(ctx, short, kindClear, err)
	s.observe(OpClear, start, err)
	return err
}
