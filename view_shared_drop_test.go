package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientLeftRefusedKeepsEntry: the doc of SharedCache (and of
// dropReplaced) says a refusal that comes from the client leaving leaves
// the entry. A revalidation whose client disconnects while the handler
// runs, the handler answering the cancelled request as many do (a 499
// "client closed request", a 408, or a no-store fallback), must not drop
// the shared entry for everyone: the next origin error is still answered
// with the stale copy within stale-if-error.
func TestClientLeftRefusedKeepsEntry(t *testing.T) {
	for _, c := range []struct {
		name string
		fn   func(w http.ResponseWriter)
	}{
		{"499", func(w http.ResponseWriter) { w.WriteHeader(499) }},
		{"408", func(w http.ResponseWriter) { w.WriteHeader(http.StatusRequestTimeout) }},
		{"no-store fallback", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			mode := 0
			var leave context.CancelFunc
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				switch mode {
				case 0:
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
					w.Header().Set("ETag", `"x"`)
				case 1: // the client leaves while the handler works
					leave()
					<-r.Context().Done()
					c.fn(w)
				case 2:
					w.WriteHeader(http.StatusInternalServerError)
				}
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			mode = 1
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			leave = cancel
			r := httptest.NewRequest(http.MethodGet, "/a", nil).WithContext(ctx)
			ch.ServeHTTP(httptest.NewRecorder(), r)
			require.EqualValues(t, 2, h.calls.Load())
			mode = 2
			w := get(ch, "/a")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"),
				"a client that left must not drop the shared entry (got %d %q)", w.Code, w.Body.String())
		})
	}
}

// TestRequestSpecific4xxKeepsEntry: a 4xx the origin gives for something
// in the request alone (a bad session cookie: 403; a rate limit: 429; an
// Accept it cannot serve: 406), none of which the key holds, must not
// delete the shared entry for every client: any client (an attacker
// sending a bogus cookie when the entry is stale) would remove the copy
// that stale-if-error serves the others during an outage.
func TestRequestSpecific4xxKeepsEntry(t *testing.T) {
	for _, c := range []struct {
		status int
		field  string
	}{
		{http.StatusForbidden, "Cookie"}, {http.StatusForbidden, "X-Api-Key"},
		{http.StatusTooManyRequests, "X-Api-Key"}, {http.StatusNotAcceptable, "Accept"},
	} {
		status := c.status
		t.Run(http.StatusText(status)+" "+c.field, func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			down := false
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get(c.field) == "forged" {
					w.WriteHeader(status) // a middleware inside the view, before the database
					return
				}
				if down {
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				w.Header().Set("Cache-Control", "public, max-age=10, stale-if-error=600")
				w.Header().Set("ETag", `"x"`)
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			down = true
			assert.Equal(t, "STALE", get(ch, "/a").Header().Get("X-Cache"), "the outage is masked")
			require.Equal(t, status, get(ch, "/a", c.field, "forged").Code)
			w := get(ch, "/a")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"),
				"one client's forged %s removed the shared copy: everyone now gets %d", c.field, w.Code)
		})
	}
}

// TestRefusedForCookieKeepsEntry: a request with a Cookie the key does not
// hold is answered with that user's page, whatever the origin says of it
// (private, no-store, without freshness, a new Set-Cookie, a 404 for what
// the session may not see): the shared copy stays for the others, from a
// client's revalidation, which a stale-while-revalidate entry gets instead
// of a background refresh for such a request. So
// does a response with Set-Cookie to a request without one: a first visit
// given a session, not a new representation of the resource.
func TestRefusedForCookieKeepsEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, c := range []struct {
			name string
			fn   func(w http.ResponseWriter)
			hdr  []string
		}{
			{"private", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "private, max-age=60") }, []string{"Cookie", "s=1"}},
			{"no-store", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") }, []string{"Cookie", "s=1"}},
			{"no freshness", func(w http.ResponseWriter) {}, []string{"Cookie", "s=1"}},
			{"Set-Cookie", func(w http.ResponseWriter) { w.Header().Set("Set-Cookie", "s=2") }, []string{"Cookie", "s=1"}},
			{"404", func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) }, []string{"Cookie", "s=1"}},
			{"Set-Cookie without Cookie", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Set-Cookie", "s=new")
			}, nil},
			{"304 private, must-revalidate", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "private, must-revalidate, max-age=0")
				w.Header().Set("ETag", `"x"`) // the stored validator: it selects the entry
				w.WriteHeader(http.StatusNotModified)
			}, []string{"Cookie", "s=1"}},
			{"304 no-store with Authorization", func(w http.ResponseWriter) {
				w.Header().Set("Cache-Control", "no-cache, no-store, must-revalidate")
				w.Header().Set("ETag", `"x"`) // the stored validator: it selects the entry
				w.WriteHeader(http.StatusNotModified)
			}, []string{"Authorization", "Bearer t"}},
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
						c.fn(w)
					case 2:
						w.WriteHeader(http.StatusInternalServerError)
					}
				}}
				ch := e.sharedView(h, StaleIfError(time.Hour))
				get(ch, "/a")
				e.clock.Advance(20 * time.Second)
				mode = 1
				get(ch, "/a", c.hdr...)
				require.EqualValues(t, 2, h.calls.Load())
				mode = 2
				w := get(ch, "/a")
				assert.Equal(t, "b #1", w.Body.String(), "the shared copy answers the error")
				assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
			})
		}
		t.Run("stale-while-revalidate refresh", func(t *testing.T) {
			e := newViewEnv(t, k)
			var mode atomic.Int32
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				if mode.Load() == 0 || r.Header.Get("Cookie") == "" {
					w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=600")
					w.Header().Set("ETag", `"x"`)
					return
				}
				w.Header().Set("Cache-Control", "private, max-age=60")
			}}
			ch := e.sharedView(h, StaleWhileRevalidate(time.Hour))
			get(ch, "/a")
			mode.Store(1)
			e.clock.Advance(20 * time.Second)
			// A request with a Cookie the entry does not vary on makes no
			// background refresh (see refreshable): it runs its own
			// request, answered private, which leaves the entry.
			assert.Equal(t, "b #2", get(ch, "/a", "Cookie", "s=1").Body.String())
			e.c.wait()
			require.EqualValues(t, 2, h.calls.Load())
			w := get(ch, "/a")
			assert.Equal(t, "b #1", w.Body.String(), "the shared copy is still served")
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		})
	})
}

// TestRefusedForCookieKeyedDropsEntry: where the Cookie is keyed (UserKey
// names the user, or the stored response varies on Cookie) the entry is
// that user's own, and a refusal for what the response is removes it; so
// does a response to a request with a Cookie that says itself it may be
// shared (public), and a 410 to a request without one.
func TestRefusedForCookieKeyedDropsEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, c := range []struct {
			name   string
			vary   string
			second func(w http.ResponseWriter)
			hdr    []string
			opts   []ViewOption
		}{
			{"UserKey", "", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") },
				[]string{"Cookie", "s=1"}, []ViewOption{UserKey(func(r *http.Request) string { return r.Header.Get("Cookie") })}},
			{"Vary: Cookie", "Cookie", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "no-store") },
				[]string{"Cookie", "s=1"}, nil},
			{"public", "", func(w http.ResponseWriter) { w.Header().Set("Cache-Control", "public, no-store") },
				[]string{"Cookie", "s=1"}, nil},
			{"410", "", func(w http.ResponseWriter) { w.WriteHeader(http.StatusGone) }, nil, nil},
		} {
			t.Run(c.name, func(t *testing.T) {
				e := newViewEnv(t, k)
				mode := 0
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					switch mode {
					case 0:
						w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
						w.Header().Set("ETag", `"x"`)
						if c.vary != "" {
							w.Header().Set("Vary", c.vary)
						}
					case 1:
						c.second(w)
					case 2:
						w.WriteHeader(http.StatusInternalServerError)
					}
				}}
				ch := e.sharedView(h, append([]ViewOption{StaleIfError(time.Hour)}, c.opts...)...)
				get(ch, "/a", c.hdr...)
				e.clock.Advance(20 * time.Second)
				mode = 1
				require.Equal(t, "b #2", get(ch, "/a", c.hdr...).Body.String(), "the origin answers this request")
				mode = 2
				w := get(ch, "/a", c.hdr...)
				assert.Equal(t, http.StatusInternalServerError, w.Code,
					"the old copy (%q, X-Cache %s) is not served in place of the error", w.Body.String(), w.Header().Get("X-Cache"))
			})
		}
	})
}
