package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heldLeaseAdd is a remote store whose Add of a lease key can be held.
type heldLeaseAdd struct {
	*remote
	hold atomic.Pointer[chan struct{}]
}

func (h *heldLeaseAdd) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	if p := h.hold.Load(); p != nil && strings.Contains(key, "l/") {
		<-*p
	}
	return h.remote.Add(ctx, key, v, ttl)
}

// leaseStaleRun is the scene of a stale entry under a Lease: process a
// refreshes it (its response has Cache-Control cc), holding the lease,
// while process b runs a request with the header lead, and a request with
// the header join joins that run; a's handler fails (a 503 without
// Cache-Control, not stored) when fail is set. It returns b's two
// responses and how often the handler ran.
func leaseStaleRun(t *testing.T, cc string, fail bool, lead, join []string) (led, joined *httptest.ResponseRecorder, calls int64) {
	s := &heldLeaseAdd{remote: &remote{Backend: newSimple(t, nil)}}
	open := func() *Cache {
		c, err := New(&Options{Backend: s, Lease: time.Minute})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := open(), open()
	var n atomic.Int64
	var gate atomic.Pointer[chan struct{}]
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g := gate.Load(); g != nil {
			<-*g
		}
		k := n.Add(1)
		if fail && k > 1 {
			w.WriteHeader(http.StatusServiceUnavailable) // not stored
			return
		}
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, k))
		fmt.Fprintf(w, "v%d", k)
	})
	opts := []ViewOption{SharedCache(), StaleIfError(time.Hour), HonorRequestCacheControl(), CacheStatusHeader("X-Cache")}
	va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)
	require.Equal(t, "v1", get(va, "/p").Body.String())
	time.Sleep(5 * time.Second) // stale

	g := make(chan struct{})
	gate.Store(&g)
	refresh := getAll(va, "/p", 1)
	synctest.Wait() // a refreshes, holding the lease

	hold := make(chan struct{})
	s.hold.Store(&hold)
	first := make(chan *httptest.ResponseRecorder, 1)
	go func() { first <- get(vb, "/p", lead...) }()
	synctest.Wait() // b's run for the first request, at its lease Add
	second := make(chan *httptest.ResponseRecorder, 1)
	go func() { second <- get(vb, "/p", join...) }()
	synctest.Wait() // the second request joins b's run
	s.hold.Store(nil)
	close(hold)
	synctest.Wait()
	close(g)
	refresh()
	return <-first, <-second, n.Load()
}

// sieHeader is a request's own stale-if-error.
var sieHeader = []string{"Cache-Control", "stale-if-error=60"}

// TestLeaseRequestStaleIfErrorWaitsForTheLease: under a Lease, a request's
// own stale-if-error is no stale entry to serve while another process
// refreshes: the request waits for the lease as any other, and the
// requests of its process that waited for its run (which sent no
// stale-if-error, for a response allowing none) are never answered stale.
// It lets the request, and it alone, be answered stale when the run fails.
func TestLeaseRequestStaleIfErrorWaitsForTheLease(t *testing.T) {
	t.Run("the refresh succeeds", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, w2, calls := leaseStaleRun(t, "max-age=1", false, sieHeader, nil)
			assert.NotEqual(t, "STALE", w2.Header().Get("X-Cache"), "a waiter without stale-if-error, for a response allowing none, was answered stale with no error")
			assert.Equal(t, "HIT", w1.Header().Get("X-Cache"), "the request that asked waits for the other process's entry")
			assert.Equal(t, "v2", w1.Body.String())
			assert.Equal(t, "HIT", w2.Header().Get("X-Cache"))
			assert.Equal(t, "v2", w2.Body.String())
			assert.EqualValues(t, 2, calls, "the handler ran once for the refresh")
		})
	})
	t.Run("the refresh fails", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, w2, _ := leaseStaleRun(t, "max-age=1", true, sieHeader, nil)
			assert.Equal(t, http.StatusOK, w1.Code, "the request that asked is answered stale on its handler's error")
			assert.Equal(t, "STALE", w1.Header().Get("X-Cache"))
			assert.Equal(t, "v1", w1.Body.String())
			assert.Equal(t, http.StatusServiceUnavailable, w2.Code, "the one that did not gets the error")
			assert.NotEqual(t, "STALE", w2.Header().Get("X-Cache"))
		})
	})
}

// TestLeaseStaleRefusedByTheRequest: under a Lease, the stale entry a
// process serves while another one refreshes (within the response's own
// stale-if-error) never answers a request that refuses stale responses
// (min-fresh, max-age: RFC 9111 section 4.2.4), whether its run would serve
// it or the run it waited for did: it waits for the refresh.
func TestLeaseStaleRefusedByTheRequest(t *testing.T) {
	const cc = "max-age=1, stale-if-error=60"
	refuses := []string{"Cache-Control", "min-fresh=1"}
	t.Run("its own run", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, w2, calls := leaseStaleRun(t, cc, false, refuses, nil)
			assert.Equal(t, "HIT", w1.Header().Get("X-Cache"), "a min-fresh request was answered stale with no error")
			assert.Equal(t, "v2", w1.Body.String())
			assert.Equal(t, "HIT", w2.Header().Get("X-Cache"))
			assert.Equal(t, "v2", w2.Body.String())
			assert.EqualValues(t, 2, calls)
		})
	})
	t.Run("the run it waited for", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			w1, w2, calls := leaseStaleRun(t, cc, false, nil, refuses)
			assert.Equal(t, "STALE", w1.Header().Get("X-Cache"), "the response's stale-if-error lets a plain request be served stale meanwhile")
			assert.Equal(t, "v1", w1.Body.String())
			assert.Equal(t, "HIT", w2.Header().Get("X-Cache"), "a min-fresh request was answered stale with no error")
			assert.Equal(t, "v2", w2.Body.String())
			assert.EqualValues(t, 2, calls)
		})
	})
}
