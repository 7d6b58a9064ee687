package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLeaseOwnMarkServesTheStaleEntry: a waiter that has a stale entry
// (StaleIfError) serves it at once rather than wait for the lease, and
// another process's miss does so on a "not stored" mark too (its Add is
// refused). The process that set the mark read its own mark and ran the
// handler at once instead: its next miss within the mark's second hit the
// failing origin again, and its client waited for that run, where every
// other process served the stale entry at once. It now serves the stale
// entry, with no call to the backend, as the others do.
func TestLeaseOwnMarkServesTheStaleEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		var failing atomic.Bool
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			if failing.Load() {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}}
		opts := []ViewOption{StaleIfError(time.Hour), CacheStatusHeader("X-Cache")}
		va, vb := a.Cached(time.Second, opts...)(h), b.Cached(time.Second, opts...)(h)
		require.Equal(t, "page #1", get(va, "/p").Body.String()) // stored
		time.Sleep(2 * time.Second)
		failing.Store(true)

		// A leads, the handler fails: the stale entry answers, and the
		// lease is marked "not stored" (kept as A's).
		w := get(va, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		a.background.wait()
		require.EqualValues(t, 2, h.calls.Load())

		// B's miss: its Add is refused by the mark, and it serves its
		// stale entry at once.
		w = get(vb, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "B ran the handler")

		// A's own next miss, the mark alive: the same.
		w = get(va, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load(), "A ran the handler on its own mark, with a stale entry to serve")
		assert.Zero(t, a.Stats().LeaseWaits)
	})
}
