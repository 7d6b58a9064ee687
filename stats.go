package caching

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/go-caching/caching/backend"

	"github.com/go-caching/caching/internal/httpcache"
)

// Stats counts what a Cache did since it was created. Each request of a
// view, call of a memoized function and read of the direct API (GetMany:
// each key) counts once, in one of Hits, StaleHits, Misses and Bypasses.
// Entries, Bytes and Evictions come from the backend and are -1 when it
// does not know them.
//
// The counters are read one at a time, not as an atomic snapshot: while the
// Cache is in use, the sum of the fields of one Stats can be off by the
// requests in flight.
type Stats struct {
	// Hits counts fresh entries served, and requests and calls served the
	// result of an identical one they waited for (they did not run the
	// handler or the function: a view says HIT to them).
	Hits int64 `json:"hits"`
	// StaleHits counts stale entries served (stale-while-revalidate,
	// stale-if-error).
	StaleHits int64 `json:"stale_hits"`
	// Misses counts lookups that found nothing usable: the handler or
	// function ran.
	Misses int64 `json:"misses"`
	// Bypasses counts requests and calls that did not consult the cache
	// (BypassIf, a method or request a view does not cache, a backend
	// error on lookup or, for a view, on reading the tag versions after a
	// miss), and a view's requests whose context a deadline
	// ended while they waited for another's run (the handler answered
	// them, not stored).
	Bypasses int64 `json:"bypasses"`
	// Sets counts the entries the Cache wrote to the backend: views'
	// responses (and the records of a Vary response's variants), memoized
	// results, fragments and the writes of the direct API. A write that
	// failed is not counted; one that landed and then panicked (a
	// simple.Dropper it replaced) is.
	Sets int64 `json:"sets"`
	// Errors counts backend errors swallowed by failing open, and stored
	// values that did not decode as the type a memoized function or
	// GetOrSet asked for (which then ran and stored over them). A call
	// that failed because its caller's context was cancelled (the client
	// left) is not a backend error: not counted.
	Errors int64 `json:"errors"`
	// Unavailable counts backend calls not made because the circuit
	// breaker was open: those of views, Memoize and fragments (served
	// uncached), of the direct and typed APIs (which returned
	// ErrUnavailable) and of the retries of failed invalidations; and the
	// calls a backend of several servers refused at once because the
	// server of their key is marked down (backend.ErrServerDown: the
	// memcached Store). They are not Errors: the backend was left alone.
	Unavailable int64 `json:"unavailable"`
	// Corrupt counts entries that did not decode (and were deleted).
	Corrupt   int64 `json:"corrupt"`
	Entries   int64 `json:"entries"`   // entries held by the backend, or -1
	Bytes     int64 `json:"bytes"`     // bytes held by the backend, or -1
	Evictions int64 `json:"evictions"` // entries the backend evicted for room, or -1
	// AheadRefreshes counts the background refreshes that RefreshAhead
	// started, on hits close to their entry's expiry (the hits themselves
	// count in Hits) and that ran: not one that finds its entry stored
	// again since the hit read it (or, for a view, another process's
	// lease on it) and runs nothing (see RefreshAhead).
	AheadRefreshes int64 `json:"ahead_refreshes"`
	// Leases counts the leases taken (see Lease): misses that ran the
	// handler or function for every process sharing the backend.
	Leases int64 `json:"leases"`
	// LeaseWaits counts the misses that found another process's lease and
	// waited for its result, LeaseTimeouts those of them that stopped
	// waiting after the lease's time and ran the work themselves.
	LeaseWaits    int64 `json:"lease_waits"`
	LeaseTimeouts int64 `json:"lease_timeouts"`
	// CollapseTimeouts counts the view requests that waited
	// CollapseTimeout for another request's run of their key in this
	// process and ran the handler themselves (each counts in Misses too),
	// and the memoized calls that found the computation of their argument
	// they joined running for the function's CollapseTimeout (by default
	// DefaultCollapseTimeout plus its Lease) and computed in its place,
	// taking it over (see Memoize):
	// those that took the run over (their response stored; they count
	// in CollapseTakeovers too) and those that ran on their own (served,
	// not stored). Many of them tell of
	// runs slower than CollapseTimeout: a slow origin, or requests made
	// slow on purpose.
	CollapseTimeouts int64 `json:"collapse_timeouts"`
	// CollapseTakeovers counts those of CollapseTimeouts (each counts
	// there too) that took the run they waited for over (see
	// CollapseTimeout, and Memoize): their response (or result) was made
	// to be stored, in place of that run's. CollapseTimeouts - CollapseTakeovers ran on their own,
	// storing nothing. Many of them tell of runs that take CollapseTimeout
	// or longer, or never end: each is taken over once per
	// CollapseTimeout at most.
	CollapseTakeovers int64 `json:"collapse_takeovers"`
	// PendingInvalidations is the number of keys whose invalidation failed
	// (InvalidateOnWrite's, InvalidateTags, InvalidatePath, Forget,
	// ForgetAll, while the backend was down) and is retried in the
	// background until it answers. Meanwhile, the entries they end (under
	// those keys, or written under those tag versions) are misses. It is at
	// most 4096: an invalidation that does not fit makes every lookup a miss
	// until the retry has cleared the backend's namespace (as Cache.Clear
	// does), and counts 1 here while only that clear waits.
	PendingInvalidations int64 `json:"pending_invalidations"`
	// Breaker is the state of the circuit breaker: "closed" (calls go
	// through), "open" (the backend is left alone), "half-open" (one probe
	// is out), or "" for an in-process store, which has none.
	Breaker string `json:"breaker,omitempty"`
}

// HitRatio is Hits+StaleHits over all lookups (Bypasses left out), or 0
// before the first.
func (s Stats) HitRatio() float64 {
	served := s.Hits + s.StaleHits
	if total := served + s.Misses; total > 0 {
		return float64(served) / float64(total)
	}
	return 0
}

// outcome is what one request, call or read came to.
type outcome uint8

const (
	outHit outcome = iota
	outStale
	outMiss
	outBypass
)

// status is the cache status a response of this outcome announces.
func (o outcome) status() httpcache.CacheStatus {
	return [...]httpcache.CacheStatus{outHit: httpcache.Hit, outStale: httpcache.Stale, outMiss: httpcache.Miss, outBypass: httpcache.Bypass}[o]
}

type counters struct {
	outcomes              [4]atomic.Int64 // by outcome
	sets, errors, corrupt atomic.Int64
	unavailable           atomic.Int64 // calls the breaker refused
	ahead                 atomic.Int64 // RefreshAhead's refreshes: see AheadRefreshes

	leases, leaseWaits, leaseTimeouts atomic.Int64
	collapseTimeouts                  atomic.Int64 // see CollapseTimeouts
	collapseTakeovers                 atomic.Int64 // see CollapseTakeovers
}

// record counts one outcome of the direct API (views and memoized functions
// count theirs in their own named counters).
func (c *Cache) record(o outcome) { c.stats.outcomes[o].Add(1) }

// Stats returns the Cache's counters. It is safe for concurrent use and cheap
// enough for a metrics scrape.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:        c.stats.outcomes[outHit].Load(),
		StaleHits:   c.stats.outcomes[outStale].Load(),
		Misses:      c.stats.outcomes[outMiss].Load(),
		Bypasses:    c.stats.outcomes[outBypass].Load(),
		Sets:        c.stats.sets.Load(),
		Errors:      c.stats.errors.Load(),
		Unavailable: c.stats.unavailable.Load(),
		Corrupt:     c.stats.corrupt.Load(),
		Entries:     -1,
		Bytes:       -1,
		Evictions:   -1,

		AheadRefreshes: c.stats.ahead.Load(),
		Leases:         c.stats.leases.Load(),
		LeaseWaits:     c.stats.leaseWaits.Load(),
		LeaseTimeouts:  c.stats.leaseTimeouts.Load(),

		CollapseTimeouts:  c.stats.collapseTimeouts.Load(),
		CollapseTakeovers: c.stats.collapseTakeovers.Load(),

		PendingInvalidations: int64(c.store.pending.len()),
	}
	c.named.sum(&s)
	if c.store.br != nil {
		s.Breaker = c.store.br.State().String()
	}
	if st, ok := c.store.b.(backend.Statser); ok {
		bs := st.Stats()
		s.Entries, s.Bytes, s.Evictions = bs.Entries, bs.Bytes, bs.Evictions
	}
	return s
}

// Counts is what one view or one memoized function did since the Cache was
// created: each request or call counted once in Hits, StaleHits, Misses or
// Bypasses (as in Stats, whose totals include them), and the backend
// errors and corrupt entries met on its behalf.
type Counts struct {
	Hits      int64 `json:"hits"`
	StaleHits int64 `json:"stale_hits"`
	Misses    int64 `json:"misses"`
	Bypasses  int64 `json:"bypasses"`
	Errors    int64 `json:"errors"`
	Corrupt   int64 `json:"corrupt"`
}

// ViewStats returns the Counts of the Cache's views by name: the Name
// option of a view, else the pattern of the route that served the request
// (the CachedMux route's, or r.Pattern for a view registered in a
// http.ServeMux), else "". CONNECT requests are counted under the Name
// option or "": ServeMux gives a CONNECT request it redirects the
// client's own path as its pattern. Views with one name share their
// Counts. Names are never removed; past the first 1023, the counts of new
// names go to OtherName. It is safe for concurrent use.
func (c *Cache) ViewStats() map[string]Counts { return c.named.snapshot(&c.named.views) }

// MemoStats returns the Counts of the Cache's memoized functions by name
// (functions memoized under one name share them; past the first 1023
// names, new ones are counted under OtherName). It is safe for concurrent
// use.
func (c *Cache) MemoStats() map[string]Counts { return c.named.snapshot(&c.named.funcs) }

// counterStripes is how many stripes a namedCounter spreads its outcomes
// over: concurrent hits of one view rarely touch the same cache line.
const (
	counterStripeBits = 3
	counterStripes    = 1 << counterStripeBits
)

// counterStripe is one stripe, padded to its own cache lines.
type counterStripe struct {
	n [4]atomic.Int64 // by outcome
	_ [128 - 4*8]byte
}

// namedCounter counts the outcomes of one view or memoized function. Its
// outcomes are striped, so that recording one costs one uncontended atomic
// add where the Cache-wide counters would cost a contended one; the sums are
// made when read.
type namedCounter struct {
	stripes         [counterStripes]counterStripe
	errors, corrupt atomic.Int64
}

// record counts one outcome on the calling goroutine's stripe.
func (n *namedCounter) record(o outcome) {
	n.stripes[stripe()].n[o].Add(1)
}

// stripe picks the calling goroutine's stripe from the address of a
// variable on its stack. Goroutines have stacks of their own, so two
// running at once use two stripes unless their addresses hash alike, and
// one keeps using the same stripe (its stack moves only when it grows):
// the stripe's cache line stays with its core, where a stripe picked at
// random for each call would be the other core's half of the time. The
// address is only hashed, never used.
func stripe() int {
	var x byte
	p := uint64(uintptr(unsafe.Pointer(&x))) >> 11 // 2 KiB, the smallest stack
	return int(p * 0x9e3779b97f4a7c15 >> (64 - counterStripeBits))
}

func (n *namedCounter) load() Counts {
	var out [4]int64
	for i := range n.stripes {
		for o := range out {
			out[o] += n.stripes[i].n[o].Load()
		}
	}
	return Counts{Hits: out[outHit], StaleHits: out[outStale], Misses: out[outMiss], Bypasses: out[outBypass],
		Errors: n.errors.Load(), Corrupt: n.corrupt.Load()}
}

// registry holds the named counters of a Cache's views and memoized
// functions. Names come from the program (Name, route patterns, Memoize's
// names), so their number is bounded by it; as a second line of defence,
// should a name ever come from a request, each map holds at most
// maxNamedCounters of them and counts the rest under OtherName.
type registry struct {
	mu           sync.Mutex
	views, funcs map[string]*namedCounter

	// funcIDs holds the function first memoized under each name (funcID;
	// at most maxNamedCounters names), 0 once a second one was reported.
	funcIDs map[string]uintptr

	// memos holds what the Memoized values of each name share (at most
	// maxNamedCounters names, OtherName's included: see registry.memo).
	memos map[string]*memoShared
}

// reused records id as the function memoized under name, and reports
// whether another function was memoized under name before: true once per
// name.
func (r *registry) reused(name string, id uintptr) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	first, ok := r.funcIDs[name]
	switch {
	case !ok:
		if r.funcIDs == nil {
			r.funcIDs = make(map[string]uintptr)
		}
		if len(r.funcIDs) < maxNamedCounters {
			r.funcIDs[name] = id
		}
		return false
	case first == 0 || first == id:
		return false
	}
	r.funcIDs[name] = 0
	return true
}

// maxNamedCounters is the most names ViewStats or MemoStats hold apiece,
// OtherName included.
const maxNamedCounters = 1024

// OtherName is the name under which ViewStats and MemoStats count the
// views or memoized functions whose names came after the first 1023 of
// their kind: the names are kept in memory and exported as metric labels,
// so their number is bounded.
const OtherName = "(other)"

// counter returns the counter of name in *m, created if needed (OtherName's
// when the map is full).
func (r *registry) counter(m *map[string]*namedCounter, name string) *namedCounter {
	n, _ := r.counterOwn(m, name)
	return n
}

// counterOwn is counter, which also reports whether the counter is name's
// own (false: OtherName's, the map being full).
func (r *registry) counterOwn(m *map[string]*namedCounter, name string) (*namedCounter, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := (*m)[name]; ok {
		return n, true
	}
	if *m == nil {
		*m = make(map[string]*namedCounter)
	}
	own := len(*m) < maxNamedCounters-1
	if !own {
		name = OtherName
		if n, ok := (*m)[name]; ok {
			return n, false
		}
	}
	n := new(namedCounter)
	(*m)[name] = n
	return n, own
}

func (r *registry) snapshot(m *map[string]*namedCounter) map[string]Counts {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]Counts, len(*m))
	for name, n := range *m {
		out[name] = n.load()
	}
	return out
}

// sum adds the outcomes of every named counter to s.
func (r *registry) sum(s *Stats) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range [...]map[string]*namedCounter{r.views, r.funcs} {
		for _, n := range m {
			c := n.load()
			s.Hits += c.Hits
			s.StaleHits += c.StaleHits
			s.Misses += c.Misses
			s.Bypasses += c.Bypasses
		}
	}
}

// errCorruptMiss is what a lookup returns for an entry that did not decode (and
// was deleted): a miss, so that errors.Is(err, ErrNotFound) holds, that the
// view or function counts as corrupt.
var errCorruptMiss = fmt.Errorf("caching: corrupt entry deleted: %w", ErrNotFound)

// countLookup counts a corrupt entry met by a lookup of n's.
func (n *namedCounter) countLookup(err error) {
	if err != nil && errors.Is(err, errCorruptMiss) {
		n.corrupt.Add(1)
	}
}

// viewCounters finds the named counter of a view's requests: the view's
// Name, else the request's route pattern. The first name a view sees is
// kept in first (one comparison per request); the others (CachedMux's
// routes) in a copy-on-write map.
type viewCounters struct {
	first  atomic.Pointer[namedRef]
	others atomic.Pointer[map[string]*namedCounter]
	mu     sync.Mutex // orders the writers of others
}

type namedRef struct {
	name string
	n    *namedCounter
}

// counter returns the named counter of r's view.
func (v *view) counter(r *http.Request) *namedCounter {
	name := v.cfg.name
	if name == "" {
		name = r.Pattern // never a CONNECT request's own path: see ServeHTTP
	}
	vc := &v.counters
	if f := vc.first.Load(); f != nil && f.name == name {
		return f.n
	}
	if m := vc.others.Load(); m != nil {
		if n, ok := (*m)[name]; ok {
			return n
		}
	}
	n, own := v.c.named.counterOwn(&v.c.named.views, name)
	if !own {
		return n // not kept here either: the names are bounded
	}
	if vc.first.CompareAndSwap(nil, &namedRef{name: name, n: n}) {
		return n
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	next := make(map[string]*namedCounter)
	if m := vc.others.Load(); m != nil {
		maps.Copy(next, *m)
	}
	next[name] = n
	vc.others.Store(&next)
	return n
}

// notMade reports whether err is the refusal of a backend call that was
// not made: the breaker's (ErrUnavailable), or a Store's whose server for
// the key is marked down (backend.ErrServerDown). Such calls count in
// Stats.Unavailable, not in Errors.
func notMade(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, backend.ErrServerDown)
}

// record counts one outcome of r.
func (v *view) record(r *http.Request, o outcome) { v.counter(r).record(o) }

// failOpen is Cache.failOpen, counted for r's view too.
func (v *view) failOpen(r *http.Request, op string, err error) {
	if !notMade(err) {
		v.counter(r).errors.Add(1)
	}
	v.c.failOpen(op, err)
}

// record counts one outcome of a call.
func (m *Memoized[A, R]) record(o outcome) { m.counter.record(o) }

// failOpen is Cache.failOpen, counted for the function too.
func (m *Memoized[A, R]) failOpen(op string, err error) {
	if !notMade(err) {
		m.counter.errors.Add(1)
	}
	m.c.failOpen(op, err)
}
