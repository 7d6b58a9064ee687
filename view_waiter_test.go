package caching

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedWaiterGetsFullResponse: in a SharedCache view, a request
// that waits for another's revalidation of a stored entry is served the
// entry, never a 304: it sent no validator. The cache's own conditional
// request (If-None-Match from the stored ETag) must not be what the waiter's
// hit is evaluated against.
func TestSharedWaiterGetsFullResponse(t *testing.T) {
	for name, revalidated := range map[string]func(w http.ResponseWriter){
		"304": func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotModified) },
		"200 same ETag": func(w http.ResponseWriter) {
			_, _ = w.Write([]byte("hello"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				release := make(chan struct{})
				var conditional atomic.Int32
				ch := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					// Fresh for a second: once stale, it is revalidated by
					// one request for the others (an entry never fresh,
					// no-cache, would be revalidated by each on its own).
					w.Header().Set("Cache-Control", "max-age=1")
					w.Header().Set("ETag", `"v1"`)
					if r.Header.Get("If-None-Match") == `"v1"` {
						conditional.Add(1)
						<-release
						revalidated(w)
						return
					}
					_, _ = w.Write([]byte("hello"))
				}))
				require.Equal(t, "hello", get(ch, "/a").Body.String())
				time.Sleep(2 * time.Second) // stale: to revalidate

				const n = 3
				codes := make([]int, n)
				bodies := make([]string, n)
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() {
						w := get(ch, "/a")
						codes[i], bodies[i] = w.Code, w.Body.String()
					})
				}
				synctest.Wait() // one revalidates, the others wait for it
				require.EqualValues(t, 1, conditional.Load())
				close(release)
				wg.Wait()
				for i := range n {
					assert.Equal(t, http.StatusOK, codes[i], "request %d sent no validator", i)
					assert.Equal(t, "hello", bodies[i], "request %d", i)
				}
			})
		})
	}
}

// TestSharedStaleIfErrorGetsFullResponse: in a SharedCache view, the
// stale entry served in place of a 5xx (stale-if-error) is served for the
// client's request, which sent no validator: a 200 with the body, never a
// 304 answering the cache's own conditional request.
func TestSharedStaleIfErrorGetsFullResponse(t *testing.T) {
	for name, fail := range map[string]func(w http.ResponseWriter){
		"5xx":   func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) },
		"panic": func(http.ResponseWriter) { panic("upstream down") },
	} {
		t.Run(name, func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			var failing atomic.Bool
			ch := e.sharedView(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=1, stale-if-error=600")
				w.Header().Set("ETag", `"v1"`)
				if failing.Load() {
					fail(w)
					return
				}
				_, _ = w.Write([]byte("hello"))
			}), StaleIfError(time.Hour))
			require.Equal(t, "hello", get(ch, "/a").Body.String())
			failing.Store(true)
			e.clock.Advance(30 * time.Second)
			w := get(ch, "/a")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
			assert.Equal(t, http.StatusOK, w.Code, "the client sent no validator")
			assert.Equal(t, "hello", w.Body.String())
			w = get(ch, "/a", "If-None-Match", `"v1"`)
			assert.Equal(t, http.StatusNotModified, w.Code, "the client's own validator is still answered")
		})
	}
}

// TestSharedLeaseWaiterGetsFullResponse: in a SharedCache view with
// Lease, a request that waits for another process's revalidation and then
// finds the entry it stored is served that entry for its own request (a
// 200: it sent no validator), not for the cache's conditional request.
func TestSharedLeaseWaiterGetsFullResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		release := make(chan struct{})
		var conditional atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				conditional.Add(1)
				<-release
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write([]byte("hello"))
		})
		va := a.Cached(time.Hour, SharedCache())(h)
		vb := b.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(h)
		require.Equal(t, "hello", get(va, "/a").Body.String())
		time.Sleep(20 * time.Second) // stale: revalidated on the next request

		first := getAll(va, "/a", 1)
		synctest.Wait() // a revalidates, holding the lease
		other := getAll(vb, "/a", 1)
		synctest.Wait() // b waits for the lease
		require.EqualValues(t, 1, conditional.Load())
		close(release)
		assert.Equal(t, "hello", first()[0].Body.String())
		w := other()[0]
		assert.EqualValues(t, 1, conditional.Load(), "b found what a stored")
		assert.Equal(t, http.StatusOK, w.Code, "b's client sent no validator")
		assert.Equal(t, "hello", w.Body.String())
	})
}
