package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRefused200KeepsSharedCopy: a stored public response is
// revalidated by the origin with a full 200 (new representation) that says
// no-store or private. The client gets it, but the old shared copy stays in
// the store and is served in place of the origin's next error (within
// stale-if-error) or stale to everyone (within stale-while-revalidate),
// whereas the same refusal carried by a 304 or HEAD 200 drops it
// (TestRevalidationRefusedDropsTheEntry).
func TestRefused200KeepsSharedCopy(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, cc := range []string{"no-store", "private, max-age=60"} {
			t.Run(cc+", then an error", func(t *testing.T) {
				e := newViewEnv(t, k)
				mode := 0
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case 0:
						w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
						w.Header().Set("ETag", `"x"`)
					case 1: // the origin changed it, and no longer shares it
						w.Header().Set("Cache-Control", cc)
						w.Header().Set("ETag", `"y"`)
					case 2:
						w.WriteHeader(http.StatusInternalServerError)
					}
				}}
				ch := e.sharedView(h, StaleIfError(time.Hour))
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				mode = 1
				w := get(ch, "/a")
				assert.Equal(t, "b #2", w.Body.String(), "the 200 answers this client")
				mode = 2
				e.clock.Advance(time.Second)
				w = get(ch, "/a")
				assert.Equal(t, http.StatusInternalServerError, w.Code,
					"the old shared copy (%q, X-Cache %s) is not served in place of the error", w.Body.String(), w.Header().Get("X-Cache"))
			})
		}
	})
}

// TestRefused200StaleWhileRevalidate: the same within
// stale-while-revalidate: once the origin's new representation says
// no-store, every request keeps getting the old copy, STALE, for the whole
// window, each one refreshing in the background to the same refusal; the
// new content never reaches a client.
func TestRefused200StaleWhileRevalidate(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		var mode atomic.Int32
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			if mode.Load() == 0 {
				w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
				w.Header().Set("ETag", `"x"`)
				return
			}
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("ETag", `"y"`)
		}}
		ch := e.sharedView(h, StaleWhileRevalidate(time.Hour))
		get(ch, "/a")
		mode.Store(1)
		e.clock.Advance(20 * time.Second)
		get(ch, "/a") // STALE, refreshed in the background to the no-store 200
		// The background refresh this stale hit started ends.
		e.c.wait()
		require.EqualValues(t, 2, h.calls.Load())
		e.clock.Advance(time.Minute)
		w := get(ch, "/a")
		assert.NotEqual(t, "b #1", w.Body.String(),
			"the origin replaced the content (ETag y, no-store) a minute ago: the old copy is still served (X-Cache %s)", w.Header().Get("X-Cache"))
	})
}

// TestRefused200ForItselfDropsTheEntry: whatever keeps the origin's new
// representation out of a SharedCache view (its status without freshness,
// Vary: *, a body past MaxBodySize, StoreIf) removes the entry it answered
// the revalidation of (RFC 9111 section 4.3.3: the stored response is no
// longer suitable): the origin's next error is not answered with it.
func TestRefused200ForItselfDropsTheEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, c := range []struct {
			name string
			fn   func(w http.ResponseWriter)
			opts []ViewOption
		}{
			{"404 without freshness", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }, nil},
			{"Vary: *", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Vary", "*")
			}, nil},
			{"past MaxBodySize", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Write([]byte("a longer body than the first one"))
			}, []ViewOption{MaxBodySize(16)}},
			{"StoreIf", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("X-Draft", "1")
			}, []ViewOption{StoreIf(func(r *Response) bool { return r.Header.Get("X-Draft") == "" })}},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				mode := 0
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case 0:
						w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
						w.Header().Set("ETag", `"x"`)
					case 1:
						c.fn(w)
					case 2:
						w.WriteHeader(http.StatusInternalServerError)
					}
				}}
				ch := e.sharedView(h, append([]ViewOption{StaleIfError(time.Hour)}, c.opts...)...)
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				mode = 1
				assert.NotEqual(t, "STALE", get(ch, "/a").Header().Get("X-Cache"), "the origin's response answers this client")
				mode = 2
				w := get(ch, "/a")
				assert.Equal(t, http.StatusInternalServerError, w.Code,
					"the old shared copy (%q, X-Cache %s) is not served in place of the error", w.Body.String(), w.Header().Get("X-Cache"))
			})
		}
	})
}

// TestRefused200ForTheRequestKeepsTheEntry: a revalidation whose response
// is not stored because of the request or the run, not of what the origin
// now serves, leaves the entry for the others: the response to a request
// with Authorization that does not say it may be shared (a logged-in
// user's page), a request's own no-store, the 412 that answers a client's
// If-Match, and a 5xx (a failure, RFC 9111 section 4.3.3), here outside
// stale-if-error, from the refresh of stale-while-revalidate.
func TestRefused200ForTheRequestKeepsTheEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, c := range []struct {
			name string
			fn   func(w http.ResponseWriter, r *http.Request)
			hdr  []string
		}{
			{"Authorization, private", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("Authorization") != "" {
					w.Header().Set("Cache-Control", "private, max-age=60")
					w.Header().Set("ETag", `"mine"`)
				}
			}, []string{"Authorization", "Bearer t"}},
			{"request no-store", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("ETag", `"y"`)
			}, []string{"Cache-Control", "no-store"}},
			{"412 to If-Match", func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("If-Match") != "" {
					w.WriteHeader(http.StatusPreconditionFailed)
				}
			}, []string{"If-Match", `"z"`}},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				mode := 0
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case 0:
						w.Header().Set("Cache-Control", "public, max-age=10, stale-if-error=600")
						w.Header().Set("ETag", `"x"`)
					case 1:
						c.fn(w, r)
					case 2:
						w.WriteHeader(http.StatusInternalServerError)
					}
				}}
				ch := e.sharedView(h, StaleIfError(time.Hour), HonorRequestCacheControl())
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				mode = 1
				w := get(ch, "/a", c.hdr...)
				require.Equal(t, "b #2", w.Body.String(), "the origin answers this request")
				mode = 2
				w = get(ch, "/a")
				assert.Equal(t, "b #1", w.Body.String(), "the shared copy answers the error")
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
			})
		}
		t.Run("5xx of a stale-while-revalidate refresh", func(t *testing.T) {
			e := newViewEnv(t, k)
			var failing atomic.Bool
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				if failing.Load() {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
				w.Header().Set("ETag", `"x"`)
			}}
			ch := e.sharedView(h, StaleWhileRevalidate(time.Hour))
			get(ch, "/a")
			failing.Store(true)
			e.clock.Advance(20 * time.Second)
			assert.Equal(t, "STALE", get(ch, "/a").Header().Get("X-Cache"))
			e.c.wait() // the refresh, answered with a 503
			require.EqualValues(t, 2, h.calls.Load())
			w := get(ch, "/a")
			assert.Equal(t, "b #1", w.Body.String())
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		})
	})
}
