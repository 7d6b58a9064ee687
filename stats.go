package caching

import (
	"sync/atomic"

	"github.com/go-caching/caching/backend"
)

// Stats counts what a Cache did since it was created. Each request of a
// view, call of a memoized function and read of the direct API counts once,
// in one of Hits, StaleHits, Misses and Bypasses. Entries, Bytes and
// Evictions come from the backend and are -1 when it does not know them.
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
	// error on lookup).
	Bypasses int64 `json:"bypasses"`
	// Sets counts entries written by the direct API.
	Sets int64 `json:"sets"`
	// Errors counts backend errors swallowed by failing open.
	Errors int64 `json:"errors"`
	// Corrupt counts entries that did not decode (and were deleted).
	Corrupt   int64 `json:"corrupt"`
	Entries   int64 `json:"entries"`   // entries held by the backend, or -1
	Bytes     int64 `json:"bytes"`     // bytes held by the backend, or -1
	Evictions int64 `json:"evictions"` // entries the backend evicted for room, or -1
	// AheadRefreshes counts the background refreshes that RefreshAhead
	// started, on hits close to their entry's expiry (the hits themselves
	// count in Hits).
	AheadRefreshes int64 `json:"ahead_refreshes"`
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

type counters struct {
	outcomes              [4]atomic.Int64 // by outcome
	sets, errors, corrupt atomic.Int64
	ahead                 atomic.Int64 // refreshes started by RefreshAhead
}

// record counts one outcome.
func (c *Cache) record(o outcome) { c.stats.outcomes[o].Add(1) }

// Stats returns the Cache's counters. It is safe for concurrent use and cheap
// enough for a metrics scrape.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:      c.stats.outcomes[outHit].Load(),
		StaleHits: c.stats.outcomes[outStale].Load(),
		Misses:    c.stats.outcomes[outMiss].Load(),
		Bypasses:  c.stats.outcomes[outBypass].Load(),
		Sets:      c.stats.sets.Load(),
		Errors:    c.stats.errors.Load(),
		Corrupt:   c.stats.corrupt.Load(),
		Entries:   -1,
		Bytes:     -1,
		Evictions: -1,

		AheadRefreshes: c.stats.ahead.Load(),
	}
	if c.store.br != nil {
		s.Breaker = c.store.br.State().String()
	}
	if st, ok := c.store.b.(backend.Statser); ok {
		bs := st.Stats()
		s.Entries, s.Bytes, s.Evictions = bs.Entries, bs.Bytes, bs.Evictions
	}
	return s
}
