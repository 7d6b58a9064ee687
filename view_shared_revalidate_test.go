package caching

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// TestSharedCacheRefreshAheadFollowsResponse: in a SharedCache view,
// RefreshAhead refreshes under RFC 9111's rules, as a stale-while-revalidate
// refresh does: the refreshed response is fresh for its own max-age, not
// for the view's TTL.
func TestSharedCacheRefreshAheadFollowsResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newViewEnv(t, viewStores[0])
		h := &counter{body: "b", fn: cacheControl("max-age=40")}
		ch := e.sharedView(h, RefreshAhead(30*time.Second))
		get(ch, "/a")
		e.clock.Advance(15 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "within 30 s of the end of freshness: served at once")
		synctest.Wait() // the background refresh has stored its response
		require.EqualValues(t, 2, h.calls.Load(), "and refreshed in the background")
		assert.EqualValues(t, 1, e.c.Stats().AheadRefreshes)
		w = get(ch, "/a")
		assert.Equal(t, "b #2", w.Body.String(), "the refreshed response")
		assert.Equal(t, "0", w.Header().Get("Age"))
		assert.Empty(t, w.Header().Get("ETag"), "no made-up validator")

		e.clock.Advance(10 * time.Minute)
		w = get(ch, "/a")
		assert.EqualValues(t, 3, h.calls.Load(), "max-age=40: stale after 10 min, though the TTL is an hour")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	})
}

// TestSharedCacheRefreshAheadRevalidates: a SharedCache refresh ahead sends
// the stored validators, a 304 freshens the entry with the 304's own
// freshness, and a response that may not be stored is not.
func TestSharedCacheRefreshAheadRevalidates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newViewEnv(t, viewStores[1])
		var conditional, uncacheable bool
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			if uncacheable {
				return // no caching header: not storable under RFC 9111
			}
			w.Header().Set("Cache-Control", "max-age=40")
			w.Header().Set("ETag", `"x"`)
			if conditional = r.Header.Get("If-None-Match") == `"x"`; conditional {
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.sharedView(h, RefreshAhead(30*time.Second))
		get(ch, "/a")
		e.clock.Advance(15 * time.Second)
		get(ch, "/a")
		synctest.Wait()
		require.EqualValues(t, 2, h.calls.Load())
		assert.True(t, conditional, "the refresh is a conditional request")
		w := get(ch, "/a")
		assert.Equal(t, "b #1", w.Body.String(), "the 304 freshened the stored response")
		assert.Equal(t, "0", w.Header().Get("Age"))

		uncacheable = true
		e.clock.Advance(15 * time.Second)
		get(ch, "/a")
		synctest.Wait()
		require.EqualValues(t, 3, h.calls.Load())
		w = get(ch, "/a")
		assert.Equal(t, "b #1", w.Body.String(), "a response without freshness is not stored")
		assert.Equal(t, "15", w.Header().Get("Age"))
		synctest.Wait()
		require.EqualValues(t, 3, h.calls.Load(), "the failed refresh holds off the next (aheadBackoff)")
		e.clock.Advance(30 * time.Second)
		assert.Equal(t, "b #4", get(ch, "/a").Body.String(), "and the entry ends at its own freshness")
	})
}

// TestSharedCache304Age is RFC 9111 sections 4.2.3 and 4.3.4: the age of a
// revalidated entry counts from the 304's own Age.
func TestSharedCache304Age(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			w.Header().Set("Age", "100")
			w.WriteHeader(http.StatusNotModified)
		}
	}}
	ch := e.sharedView(h)
	get(ch, "/a")
	e.clock.Advance(61 * time.Second)
	w := get(ch, "/a")
	assert.Equal(t, "100", w.Header().Get("Age"), "the 304's Age")
	w = get(ch, "/a")
	assert.EqualValues(t, 3, h.calls.Load(), "Age 100 > max-age 60: stale on arrival; X-Cache=%s", w.Header().Get("X-Cache"))
}

// TestSharedCache304WithoutDate: a 304 without Date is dated when it was
// received (RFC 9110 section 6.6.1), so that the entry it revalidates is
// fresh for its whole lifetime again, not aged from the first response's
// Date.
func TestSharedCache304WithoutDate(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Date", e.httpDate(0))
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(11 * time.Second)
		get(ch, "/a")
		e.clock.Advance(5 * time.Second)
		w := get(ch, "/a")
		assert.EqualValues(t, 2, h.calls.Load(), "fresh for 10 s after the 304")
		assert.Equal(t, "5", w.Header().Get("Age"))
		assert.Equal(t, e.httpDate(-5*time.Second), w.Header().Get("Date"), "the 304's reception")
	})
}

// TestSharedCacheHEADAge: a HEAD response that freshens the stored GET
// counts with its own Age (RFC 9111 section 4.3.5).
func TestSharedCacheHEADAge(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"x"`)
		if r.Method == http.MethodHead {
			w.Header().Set("Age", "30")
		}
	}}
	ch := e.sharedView(h)
	get(ch, "/a")
	e.clock.Advance(61 * time.Second)
	send(ch, http.MethodHead, "/a")
	w := get(ch, "/a")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD freshened the GET")
	assert.Equal(t, "30", w.Header().Get("Age"), "with the HEAD's Age")
}

// TestSharedCache304SetCookie: a Set-Cookie on the 304 of a revalidation
// reaches the client whose request reached the handler, and no other. The
// 304 is that client's alone, as a 200 with Set-Cookie would be: it does
// not freshen the stored entry, so the next request revalidates it again.
func TestSharedCache304SetCookie(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				w.Header().Set("Set-Cookie", "session=new")
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(11 * time.Second)
		w := get(ch, "/a")
		assert.Equal(t, "b #1", w.Body.String())
		assert.Equal(t, "session=new", w.Header().Get("Set-Cookie"))
		w = get(ch, "/a")
		assert.EqualValues(t, 3, h.calls.Load(), "the 304 with Set-Cookie did not freshen the entry: revalidated again")
		assert.Equal(t, "b #1", w.Body.String(), "the stored response, validated again")
		assert.Equal(t, []string{"session=new"}, w.Header().Values("Set-Cookie"), "its own 304's cookie, never a stored one")
		w = get(ch, "/a", "If-None-Match", `"x"`)
		assert.Equal(t, http.StatusNotModified, w.Code, "the client's own 304")
		assert.Equal(t, "session=new", w.Header().Get("Set-Cookie"), "carries it too")
	})
}

// TestSharedCache304SetCookieFieldsNotShared: the fields of a 304 that sets
// a cookie (a session begun for the client whose request revalidated the
// entry, with the CSRF token paired with it) are that client's, as those
// of a 200 with Set-Cookie are: merged into the stored entry, they would
// be served to every later client. The entry is left as it was, and the
// next revalidation, whose 304 sets no cookie, freshens it.
func TestSharedCache304SetCookieFieldsNotShared(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				if r.Header.Get("Cookie") == "" {
					// A first visit: the origin begins a session, with its
					// CSRF token.
					w.Header().Set("Set-Cookie", "session=alice-secret")
					w.Header().Set("X-Csrf-Token", "alice-token")
				}
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a") // alice's request revalidates
		require.EqualValues(t, 2, h.calls.Load())
		assert.Equal(t, "session=alice-secret", w.Header().Get("Set-Cookie"))
		assert.Equal(t, "alice-token", w.Header().Get("X-Csrf-Token"), "alice gets her 304's fields")
		assert.Equal(t, "b #1", w.Body.String())

		w = get(ch, "/a", "Cookie", "session=bob") // bob, signed in
		assert.EqualValues(t, 3, h.calls.Load(), "alice's 304 freshened nothing: bob's request revalidates")
		assert.Empty(t, w.Header().Get("X-Csrf-Token"), "alice's token served to bob")
		assert.Empty(t, w.Header().Values("Set-Cookie"))
		assert.Equal(t, "b #1", w.Body.String())

		w = get(ch, "/a") // carol, from the entry bob's 304 freshened
		assert.EqualValues(t, 3, h.calls.Load(), "served from the entry bob's 304 freshened")
		assert.Empty(t, w.Header().Get("X-Csrf-Token"))
		assert.Empty(t, w.Header().Values("Set-Cookie"))
	})
}

// TestSharedCache304OuterSetCookieFieldsNotShared: a Set-Cookie that a
// session middleware outside the view set before the handler ran counts as
// the 304's, as it counts as a 200's (which it keeps out of the store): the
// fields the handler sent with that session are its client's alone.
func TestSharedCache304OuterSetCookieFieldsNotShared(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		type newSession struct{}
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if tok, ok := r.Context().Value(newSession{}).(string); ok {
				w.Header().Set("X-Csrf-Token", tok)
			}
			if r.Header.Get("If-None-Match") == `"x"` {
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		view := e.sharedView(h)
		// Begins a session for a client without one, before the view runs.
		ch := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Header.Get("Cookie") == "" {
				w.Header().Set("Set-Cookie", "session=alice-secret")
				r = r.WithContext(context.WithValue(r.Context(), newSession{}, "alice-token"))
			}
			view.ServeHTTP(w, r)
		})
		get(ch, "/a", "Cookie", "session=bob")
		e.clock.Advance(20 * time.Second)
		w := get(ch, "/a") // alice's first visit revalidates
		require.EqualValues(t, 2, h.calls.Load())
		assert.Equal(t, "session=alice-secret", w.Header().Get("Set-Cookie"))
		assert.Equal(t, "alice-token", w.Header().Get("X-Csrf-Token"))

		w = get(ch, "/a", "Cookie", "session=bob")
		assert.EqualValues(t, 3, h.calls.Load(), "alice's 304 freshened nothing: bob's request revalidates")
		assert.Empty(t, w.Header().Get("X-Csrf-Token"), "alice's token served to bob")
		assert.Empty(t, w.Header().Values("Set-Cookie"))
	})
}

// TestSharedCacheHead200SetCookieFieldsNotShared: the same through a HEAD
// whose 200 carries the stored validators (RFC 9111 section 4.3.5): with
// Set-Cookie, it is its client's alone, as the same 200 to a GET would
// be, and freshens nothing.
func TestSharedCacheHead200SetCookieFieldsNotShared(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Method == http.MethodHead {
				w.Header().Set("Set-Cookie", "session=alice-secret")
				w.Header().Set("X-Csrf-Token", "alice-token")
			}
		}}
		ch := e.sharedView(h)
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		w := send(ch, http.MethodHead, "/a") // alice's HEAD
		require.EqualValues(t, 2, h.calls.Load())
		assert.Equal(t, "session=alice-secret", w.Header().Get("Set-Cookie"))
		assert.Equal(t, "alice-token", w.Header().Get("X-Csrf-Token"))

		w = get(ch, "/a") // bob
		assert.EqualValues(t, 3, h.calls.Load(), "alice's HEAD freshened nothing: bob's GET revalidates")
		assert.Empty(t, w.Header().Get("X-Csrf-Token"), "alice's token served to bob")
		assert.Empty(t, w.Header().Values("Set-Cookie"))
	})
}

// TestSharedCacheRequestFreshnessRefusesSWR is RFC 9111 sections 5.2.1.1
// and 5.2.1.3: a request's max-age or min-fresh refuses a stale response,
// so none is served under stale-while-revalidate unless max-stale accepts
// it.
func TestSharedCacheRequestFreshnessRefusesSWR(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "x", fn: cacheControl("max-age=10, stale-while-revalidate=600")}
	ch := e.sharedView(h, StaleWhileRevalidate(time.Hour), HonorRequestCacheControl())
	get(ch, "/a")
	e.clock.Advance(20 * time.Second)
	w := get(ch, "/a", "Cache-Control", "min-fresh=1")
	assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	assert.Equal(t, "x #2", w.Body.String())
	e.clock.Advance(20 * time.Second)
	w = get(ch, "/a", "Cache-Control", "max-age=3600")
	assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	assert.Equal(t, "x #3", w.Body.String())
	e.clock.Advance(20 * time.Second)
	w = get(ch, "/a", "Cache-Control", "max-age=3600, max-stale")
	assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "max-stale accepts it")
	assert.Equal(t, "x #3", w.Body.String())
	e.c.wait() // and starts the refresh stale-while-revalidate allows
	assert.EqualValues(t, 4, h.calls.Load())
	e.clock.Advance(20 * time.Second)
	w = get(ch, "/a")
	assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "without request directives, stale-while-revalidate applies")
	assert.Equal(t, "x #4", w.Body.String())
	e.c.wait()
}

// TestCachedServerTimingNotStored: Server-Timing describes one response (an
// admin's, when timing.Options.Expose admits only admins): it is never
// stored, so no hit replays it to another client. timing's middleware
// outside the view still reports the cache's status on every response.
func TestCachedServerTimingNotStored(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"default mode", nil}, {"SharedCache", []ViewOption{SharedCache()}}} {
		t.Run(mode.name, func(t *testing.T) {
			e := newViewEnv(t, viewStores[1])
			inner := timing.Must(timing.Options{Expose: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "1" }})
			outer := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})
			opts := append([]ViewOption{CacheStatusHeader("X-Cache")}, mode.opts...)
			ch := outer(e.c.Cached(time.Minute, opts...)(inner(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				timing.Add(r.Context(), "db", 12*time.Millisecond, "SELECT secret_table")
				_, _ = io.WriteString(w, "hello")
			}))))
			w := get(ch, "/x", "X-Admin", "1")
			st := strings.Join(w.Header().Values("Server-Timing"), ", ")
			assert.Contains(t, st, "secret_table", "the admin's own miss")
			assert.Contains(t, st, "cache;desc=miss")
			get(ch, "/x") // inner marks the admin's for no shared cache: another client's miss stores it
			w = get(ch, "/x")
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			st = strings.Join(w.Header().Values("Server-Timing"), ", ")
			assert.NotContains(t, st, "secret_table", "not replayed to another client")
			assert.Equal(t, 1, strings.Count(st, "cache;"), "the outer middleware's one cache metric: %q", st)
			assert.Contains(t, st, "cache;desc=hit")
		})
	}
}

// TestSharedCache304KeepsOuterFieldsOut: fields an outer middleware set
// before the handler ran are not the handler's response: a 304 or a HEAD
// that freshens the entry does not store them, as a stored 200 does not.
func TestSharedCache304KeepsOuterFieldsOut(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
		}
	}}
	ch := e.sharedView(h)
	requestID := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Request-Id", r.Header.Get("X-Id"))
			next.ServeHTTP(w, r)
		})
	}(ch)
	get(requestID, "/a", "X-Id", "1")
	e.clock.Advance(11 * time.Second)
	assert.Equal(t, "2", get(requestID, "/a", "X-Id", "2").Header().Get("X-Request-Id"))
	w := get(requestID, "/a", "X-Id", "3")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "3", w.Header().Get("X-Request-Id"), "not the revalidating request's")
	e.clock.Advance(11 * time.Second)
	send(requestID, http.MethodHead, "/a", "X-Id", "4")
	w = get(requestID, "/a", "X-Id", "5")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD freshened the GET")
	assert.Equal(t, "5", w.Header().Get("X-Request-Id"), "not the HEAD's")
}

// TestSharedCache304ServerTiming: the Server-Timing of a 304 that timing's
// middleware inside the view exposed to an admin reaches that admin, and
// is not stored for the next client.
func TestSharedCache304ServerTiming(t *testing.T) {
	e := newViewEnv(t, viewStores[1])
	inner := timing.Must(timing.Options{Expose: func(r *http.Request) bool { return r.Header.Get("X-Admin") == "1" }})
	ch := e.sharedView(inner(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"x"`)
		timing.Add(r.Context(), "db", 12*time.Millisecond, "SELECT secret_table")
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, "hello")
	})))
	get(ch, "/x")
	e.clock.Advance(11 * time.Second)
	w := get(ch, "/x", "X-Admin", "1")
	assert.Equal(t, "hello", w.Body.String())
	assert.Contains(t, strings.Join(w.Header().Values("Server-Timing"), ", "), "secret_table", "the admin's revalidation")
	get(ch, "/x") // the admin's 304, marked for no shared cache, freshened nothing: another client's revalidation does
	w = get(ch, "/x")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Empty(t, w.Header().Values("Server-Timing"), "not stored")
}
