package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/internal/testutil"
)

// These tests pin the progress of the lease holders' write rule (d142c39):
// a holder past its lease stores its result unless its look finds an entry
// stored since its lease began, in the timings that rule met besides the
// plain slow spaced chain (lease_slow_spaced_test.go): a page that varies,
// a SharedCache revalidation, a near cache in front of the shared store,
// memcached's whole-second lease expiry, three processes around the
// lease's time. In each, a run's own writes never count as "stored since".

// TestLeaseSlowSpacedVariantsAreStored: a page that varies on
// Accept-Language, slower than its lease, asked for at spaced intervals in
// two processes, two languages. The first run of each language holds the
// base key's lease with no Vary record known; its look must not take the
// record the other language's run stored, nor its own, for an entry of its
// variant: each variant is stored, and the later requests are hits.
func TestLeaseSlowSpacedVariantsAreStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: spacedLease})
		var runs atomic.Int32
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			time.Sleep(spacedWork)
			w.Header().Set("Cache-Control", "public, max-age=600")
			w.Header().Set("Vary", "Accept-Language")
			_, _ = fmt.Fprintf(w, "run %d %s", n, r.Header.Get("Accept-Language"))
		})
		h := [2]http.Handler{
			a.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler),
			b.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler),
		}
		langs := [spacedRequests]string{"en", "en", "fr", "fr", "en", "fr", "en", "fr"}
		out := spacedChain(h, func(i int) []string { return []string{"Accept-Language", langs[i]} })
		for i, w := range out[4:] {
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "request %d (%s)", 4+i, langs[4+i])
		}
		assert.LessOrEqual(t, runs.Load(), int32(4), "handler runs for %d requests", spacedRequests)
	})
}

// TestLeaseSlowSpacedRevalidationIsStored: a SharedCache entry gone stale,
// revalidated by a handler slower than the lease whose 304 makes it fresh
// for long, asked for at spaced intervals in two processes. The freshened
// entry is stored, and the later requests are hits without a run.
func TestLeaseSlowSpacedRevalidationIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: spacedLease})
		var runs atomic.Int32
		var slow atomic.Bool
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			maxAge := "1"
			if slow.Load() {
				time.Sleep(spacedWork)
				maxAge = "600"
			}
			w.Header().Set("Cache-Control", "public, max-age="+maxAge)
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = fmt.Fprint(w, "page")
		})
		h := [2]http.Handler{
			a.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(handler),
			b.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(handler),
		}
		require.Equal(t, "page", get(h[0], "/p").Body.String())
		time.Sleep(2 * time.Second) // stale
		slow.Store(true)
		out := spacedChain(h, func(int) []string { return nil })
		for i, w := range out {
			assert.Equal(t, "page", w.Body.String(), "request %d", i)
		}
		for i, w := range out[3:] {
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "request %d", 3+i)
		}
		assert.LessOrEqual(t, runs.Load(), int32(1+3), "handler runs")
	})
}

// nearLeasePair is leasePair with a near cache in front of the shared
// store in each process.
func nearLeasePair(t *testing.T, d time.Duration) (a, b *Cache) {
	t.Helper()
	rs := &remote{Backend: newSimple(t, nil)}
	open := func() *Cache {
		n, err := near.New(rs, near.Options{MaxStale: 100 * time.Millisecond})
		require.NoError(t, err)
		c, err := New(&Options{Backend: n, Lease: d})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close(); _ = n.Close() })
		return c
	}
	return open(), open()
}

// TestLeaseSlowSpacedChainWithNearCache: the slow spaced chain with a near
// cache in front of the shared store: the holder's look reads past its
// near copies, and its own near copy is no entry stored since.
func TestLeaseSlowSpacedChainWithNearCache(t *testing.T) {
	t.Run("view", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := nearLeasePair(t, spacedLease)
			slowSpacedView(t, a, b)
		})
	})
	t.Run("memoize", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			a, b := nearLeasePair(t, spacedLease)
			slowSpacedMemo(t, a, b)
		})
	})
}

// TestLeaseSlowSpacedChainOnMemcached: the slow spaced chain on a real
// memcached, whose leases end on its whole-second clock, with a lease
// shorter than a second.
func TestLeaseSlowSpacedChainOnMemcached(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	pair := func(t *testing.T) (a, b *Cache) {
		ns := fmt.Sprint("lease-progress-", time.Now().UnixNano())
		open := func() *Cache {
			be, err := memcached.New(memcached.Options{Servers: addrs, Namespace: ns, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			c, err := New(&Options{Backend: be, Lease: spacedLease, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
			return c
		}
		return open(), open()
	}
	t.Run("view", func(t *testing.T) {
		a, b := pair(t)
		slowSpacedView(t, a, b)
	})
	t.Run("memoize", func(t *testing.T) {
		a, b := pair(t)
		slowSpacedMemo(t, a, b)
	})
}

// TestLeaseThreeProcessesAroundTheLease: bursts of requests in three
// processes for a page whose handler runs just within, just past, or twice
// its lease. Each process runs the handler at most once (a waiter past its
// lease's time runs its own), and the page is stored: every process then
// hits.
func TestLeaseThreeProcessesAroundTheLease(t *testing.T) {
	for _, work := range []time.Duration{spacedLease - 10*time.Millisecond, spacedLease + 10*time.Millisecond, 2 * spacedLease} {
		t.Run(work.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := &remote{Backend: newSimple(t, nil)}
				var runs atomic.Int32
				handler := slowPage(&runs, work)
				var hs [3]http.Handler
				for i := range hs {
					c, err := New(&Options{Backend: s, Lease: spacedLease})
					require.NoError(t, err)
					t.Cleanup(func() { _ = c.Close() })
					hs[i] = c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler)
				}
				var wg sync.WaitGroup
				for range 6 {
					for i := range 9 {
						wg.Go(func() { get(hs[i%3], "/p") })
					}
					time.Sleep(spacedLease / 3)
				}
				wg.Wait()
				for i := range hs {
					assert.Equal(t, "HIT", get(hs[i], "/p").Header().Get("X-Cache"), "process %d", i)
				}
				assert.LessOrEqual(t, runs.Load(), int32(len(hs)), "handler runs")
			})
		})
	}
}
