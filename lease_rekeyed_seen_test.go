package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// TestLeaseRekeyedWaiterDoesNotTakeItsRefusedEntry: process B holds at
// the base key an old plain response E0 (no Vary), stale on arrival as
// StaleIf declares it. Two requests of B miss it: L (X-V: a) leads, W
// (X-V: b) waits in B's flight. L's handler answers with Vary: X-V: W
// rekeys to its variant's key (view.miss), keeping st.f.e = E0, and leads
// that key, whose lease another process holds. awaitLease's seen is
// markOf(variant key, E0): the look just after the failed Add reads the
// base key, still E0 (L's run has not stored anything yet), whose mark
// (base key, E0) differs from seen only by its key: storedSince, and W is
// served E0 -- the very entry its own miss refused, a plain response of
// before the page varied, not the run's -- as a HIT. Before c7492a3 that
// look was judged with no mark (lookNone), and the later looks against it.
func TestLeaseRekeyedWaiterDoesNotTakeItsRefusedEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSimple(t, nil)
		c := Must(&Options{Backend: &remote{Backend: store}, Lease: time.Minute})
		t.Cleanup(func() { c.Close() })
		hdr, open := make(chan struct{}), make(chan struct{})
		var calls atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Content-Type", "text/plain")
			if n == 1 {
				w.Header().Set("X-Degraded", "1") // stale on arrival
				fmt.Fprintf(w, "old plain #%d", n)
				return
			}
			if n == 2 {
				<-hdr
			}
			w.Header().Set("Vary", "X-V")
			w.WriteHeader(http.StatusOK)
			w.(http.Flusher).Flush()
			if n == 2 {
				<-open
			}
			fmt.Fprintf(w, "%s #%d", r.Header.Get("X-V"), n)
		})
		opts := []ViewOption{CacheStatusHeader("X-Cache"),
			StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" })}
		v := c.Cached(time.Hour, opts...)(h)
		req := func(variant string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/p", nil)
			if variant != "" {
				r.Header.Set("X-V", variant)
			}
			return r
		}
		w0 := httptest.NewRecorder()
		v.ServeHTTP(w0, req(""))
		require.Equal(t, "old plain #1", w0.Body.String())

		// Another process runs variant b: it holds that variant's lease.
		base, err := c.ViewKey(req("b"), opts...)
		require.NoError(t, err)
		vk := variantNames{}.key(base, httpcache.VariantKey(req("b"), []string{"X-V"}), []string{"X-V"})
		added, err := store.Add(t.Context(), c.leaseKey(vk), leaseHeldValue, time.Minute)
		require.NoError(t, err)
		require.True(t, added)

		var wg sync.WaitGroup
		wL, wW := httptest.NewRecorder(), httptest.NewRecorder()
		wg.Go(func() { v.ServeHTTP(wL, req("a")) })
		synctest.Wait() // L leads, its handler waits before its header
		wg.Go(func() { v.ServeHTTP(wW, req("b")) })
		synctest.Wait() // W waits in L's flight
		close(hdr)      // L's header says Vary: X-V
		synctest.Wait()
		close(open)
		wg.Wait()
		assert.Equal(t, "a #2", wL.Body.String())
		assert.NotEqual(t, "old plain #1", wW.Body.String(), "W was served the stale entry its own miss refused")
		assert.NotEqual(t, "HIT", wW.Header().Get("X-Cache"))
	})
}
