package caching

import (
	"sync/atomic"

	"github.com/go-caching/caching/backend"
)

// Stats counts what a Cache did since it was created. Entries, Bytes and
// Evictions come from the backend and are -1 when it does not know them.
type Stats struct {
	Hits      int64 `json:"hits"`       // fresh entries served
	Misses    int64 `json:"misses"`     // lookups that found nothing usable
	StaleHits int64 `json:"stale_hits"` // stale entries served (stale-while-revalidate, stale-if-error)
	Sets      int64 `json:"sets"`       // entries written
	Errors    int64 `json:"errors"`     // backend errors swallowed by failing open
	Corrupt   int64 `json:"corrupt"`    // entries that did not decode (deleted)
	Entries   int64 `json:"entries"`    // entries held by the backend, or -1
	Bytes     int64 `json:"bytes"`      // bytes held by the backend, or -1
	Evictions int64 `json:"evictions"`  // entries the backend evicted for room, or -1
}

// HitRatio is Hits+StaleHits over all lookups, or 0 before the first.
func (s Stats) HitRatio() float64 {
	served := s.Hits + s.StaleHits
	if total := served + s.Misses; total > 0 {
		return float64(served) / float64(total)
	}
	return 0
}

type counters struct {
	hits, misses, stale, sets, errors, corrupt atomic.Int64
}

// Stats returns the Cache's counters. It is safe for concurrent use and cheap
// enough for a metrics scrape.
func (c *Cache) Stats() Stats {
	s := Stats{
		Hits:      c.stats.hits.Load(),
		Misses:    c.stats.misses.Load(),
		StaleHits: c.stats.stale.Load(),
		Sets:      c.stats.sets.Load(),
		Errors:    c.stats.errors.Load(),
		Corrupt:   c.stats.corrupt.Load(),
		Entries:   -1,
		Bytes:     -1,
		Evictions: -1,
	}
	if st, ok := c.b.(backend.Statser); ok {
		bs := st.Stats()
		s.Entries, s.Bytes, s.Evictions = bs.Entries, bs.Bytes, bs.Evictions
	}
	return s
}
