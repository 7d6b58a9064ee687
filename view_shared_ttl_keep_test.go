package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheTTLKeepsValidatedEntryPastFreshness: the ttl given to
// Cached is how long an entry with a validator is kept past its freshness
// for revalidation. An entry whose lifetime reached the cap (max-age over
// the ttl) used to leave the store the moment it went stale: the next
// request had the origin send the full body again instead of a 304. It is
// revalidated until ttl past its freshness, and gone after.
func TestSharedCacheTTLKeepsValidatedEntryPastFreshness(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var conditional atomic.Int64
		h := &counter{body: "x", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") != "" {
				conditional.Add(1)
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(h)
		get(ch, "/a")
		e.clock.Advance(61 * time.Second) // stale: the 1m cap passed
		w := get(ch, "/a")
		assert.EqualValues(t, 1, conditional.Load(), "the stale entry with a validator is revalidated")
		assert.Equal(t, "x #1", w.Body.String(), "the stored body answers after the 304")
		e.clock.Advance(2*time.Minute + time.Second) // past the freshness the 304 gave, and a ttl more
		get(ch, "/a")
		assert.EqualValues(t, 1, conditional.Load(), "gone ttl past its freshness: an unconditional request")
	})
}
