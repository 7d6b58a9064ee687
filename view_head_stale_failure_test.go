package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// headStaleFailure is how headStaleHandler fails once the origin is down.
type headStaleFailure int

const (
	headStale500   headStaleFailure = iota // answers 500
	headStalePanic                         // panics before writing
)

// headStaleHandler answers with X-Run (the run's number) and a body; once
// down is set it fails as failure says. cc, when not "", is its
// Cache-Control.
func headStaleHandler(runs *atomic.Int64, down *atomic.Bool, failure headStaleFailure, cc string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		if down.Load() {
			if failure == headStalePanic {
				panic("origin down")
			}
			http.Error(w, "origin down", http.StatusInternalServerError)
			return
		}
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("X-Run", fmt.Sprint(n))
		fmt.Fprintf(w, "run #%d", n)
	})
}

// sendRecovered is send, with a panic that reaches the caller answered
// 599 (the client would have seen its connection reset).
func sendRecovered(h http.Handler, method, target string, hdr ...string) (w *httptest.ResponseRecorder) {
	defer func() {
		if recover() != nil {
			w = httptest.NewRecorder()
			w.Code = 599
		}
	}()
	return send(h, method, target, hdr...)
}

// TestHeadStaleOnFailure: a HEAD whose run fails (a 5xx, a panic) where a
// GET's run is answered with the stale entry (StaleIfError, the
// response's stale-if-error in a SharedCache view, or within
// StaleWhileRevalidate for a request that starts no refresh: one with a
// Cookie) is answered with that entry too, without its body, as the GET
// is; it used to get the handler's failure.
func TestHeadStaleOnFailure(t *testing.T) {
	cases := []struct {
		name   string
		opts   []ViewOption
		cc     string   // the handler's Cache-Control
		hdr    []string // the stale request's fields
		shared bool
	}{
		{name: "default/stale-if-error", opts: []ViewOption{StaleIfError(time.Minute)}},
		{name: "default/swr-cookie", opts: []ViewOption{StaleWhileRevalidate(time.Minute)}, hdr: []string{"Cookie", "session=a"}},
		{name: "default/honor/stale-if-error", opts: []ViewOption{StaleIfError(time.Minute), HonorRequestCacheControl()}},
		{name: "shared/stale-if-error", opts: []ViewOption{StaleIfError(time.Minute), SharedCache()}, cc: "max-age=10, stale-if-error=60"},
		{name: "shared/swr-cookie", opts: []ViewOption{StaleWhileRevalidate(time.Minute), SharedCache()}, cc: "max-age=10, stale-while-revalidate=60", hdr: []string{"Cookie", "session=a"}},
	}
	for _, tc := range cases {
		for _, failure := range []headStaleFailure{headStale500, headStalePanic} {
			t.Run(fmt.Sprintf("%s/panic=%v", tc.name, failure == headStalePanic), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					var down atomic.Bool
					opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)
					h := c.Cached(10*time.Second, opts...)(headStaleHandler(&runs, &down, failure, tc.cc))
					assert.Equal(t, "run #1", get(h, "/page").Body.String())
					time.Sleep(15 * time.Second) // stale, within the windows
					down.Store(true)
					w := sendRecovered(h, http.MethodHead, "/page", tc.hdr...)
					synctest.Wait()
					assert.Equal(t, http.StatusOK, w.Code, "the stale entry, not the origin's failure")
					assert.Equal(t, "1", w.Header().Get("X-Run"), "the stored response's header")
					assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
					assert.Empty(t, w.Body.String(), "a HEAD is answered without the body")
					g := sendRecovered(h, http.MethodGet, "/page", tc.hdr...)
					synctest.Wait()
					assert.Equal(t, http.StatusOK, g.Code, "a GET is answered so too")
				})
			})
		}
	}
}

// TestHeadStaleOnFailureOnlyFailures: a HEAD that could be answered with
// the stale entry on failure gets the handler's own response when it does
// not fail (a 404 included), counted as a miss, and a 5xx passes through
// where no window covers the entry.
func TestHeadStaleOnFailureOnlyFailures(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var status atomic.Int64
				status.Store(http.StatusOK)
				opts := []ViewOption{CacheStatusHeader("X-Cache"), StaleIfError(time.Minute)}
				if shared {
					opts = append(opts, SharedCache())
				}
				h := c.Cached(10*time.Second, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=60")
					w.Header().Set("X-Status", fmt.Sprint(status.Load()))
					w.WriteHeader(int(status.Load()))
				}))
				get(h, "/page")
				time.Sleep(15 * time.Second)
				status.Store(http.StatusNotFound)
				w := send(h, http.MethodHead, "/page")
				assert.Equal(t, http.StatusNotFound, w.Code, "the handler's own response")
				assert.Equal(t, "404", w.Header().Get("X-Status"))
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
				misses := c.Stats().Misses
				time.Sleep(2 * time.Minute) // past both windows
				status.Store(http.StatusBadGateway)
				w = send(h, http.MethodHead, "/page")
				assert.Equal(t, http.StatusBadGateway, w.Code, "no window: the failure reaches the client")
				assert.Equal(t, misses+1, c.Stats().Misses, "counted once, as a miss")
			})
		})
	}
}
