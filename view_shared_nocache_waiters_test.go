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
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// accountPage is an origin's personal page: the session cookie says whose
// (the origin forgot Vary: Cookie, and relies on cc to keep caches from
// reusing it unvalidated). Its first call waits for open before it
// answers; every call sends the user's own ETag and answers a conditional
// request with that ETag by a 304.
func accountPage(cc string, open <-chan struct{}, calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			<-open
		}
		user := "nobody"
		if ck, err := r.Cookie("session"); err == nil {
			user = ck.Value
		}
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", `"`+user+`"`)
		if r.Header.Get("If-None-Match") == `"`+user+`"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprintf(w, "account of %s", user)
	}
}

// getWithSession serves a GET of target to h with user's session cookie.
func getWithSession(h http.Handler, target, user string) *httptest.ResponseRecorder {
	return get(h, target, "Cookie", "session="+user)
}

// TestSharedNoCacheNotHandedToWaiters: in a SharedCache view, a response
// the cache stores with a freshness lifetime of 0 (no-cache, max-age=0,
// s-maxage=0, or an Age past its max-age: to be revalidated before every
// reuse, RFC 9111 section 5.2.2.4) was handed to the requests that waited
// for its run and served to them as a hit, unvalidated: Bob, whose request
// arrived while Alice's was running, got Alice's page. Such a response is
// now for its own request only: each waiter runs its own request. A
// response fresh when it is made is still shared with the waiters.
func TestSharedNoCacheNotHandedToWaiters(t *testing.T) {
	for _, tc := range []struct {
		cc        string
		collapsed bool
	}{
		{cc: "no-cache"},
		{cc: "max-age=0"},
		{cc: "max-age=0, must-revalidate"},
		{cc: "s-maxage=0, max-age=60"},
		{cc: "public, no-cache"},
		{cc: `no-cache="Set-Cookie"`}, // read as no-cache: see CacheControl
		{cc: "max-age=60", collapsed: true},
		{cc: "max-age=60, must-revalidate", collapsed: true},
	} {
		t.Run(tc.cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				open := make(chan struct{})
				var calls atomic.Int32
				h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(accountPage(tc.cc, open, &calls))

				alice, bob := make(chan *httptest.ResponseRecorder, 1), make(chan *httptest.ResponseRecorder, 1)
				go func() { alice <- getWithSession(h, "/account", "alice") }()
				synctest.Wait() // Alice's run waits for open
				go func() { bob <- getWithSession(h, "/account", "bob") }()
				synctest.Wait() // Bob waits for Alice's run
				require.EqualValues(t, 1, calls.Load(), "Bob waits for Alice's run")
				close(open)

				a, b := <-alice, <-bob
				assert.Equal(t, "account of alice", a.Body.String())
				assert.Equal(t, "MISS", a.Header().Get("X-Cache"))
				if tc.collapsed {
					assert.Equal(t, "account of alice", b.Body.String(), "a fresh response is shared with the waiters")
					assert.Equal(t, "HIT", b.Header().Get("X-Cache"))
					assert.EqualValues(t, 1, calls.Load())
					return
				}
				assert.Equal(t, "account of bob", b.Body.String(), "Bob was served Alice's page unvalidated")
				assert.EqualValues(t, 2, calls.Load(), "Bob's request reached the origin")
			})
		})
	}
}

// TestSharedNoCacheRevalidationNotHandedToWaiters: the 304 that
// revalidates a stored no-cache response for one request vouches for it
// for that request only: the requests that waited for the revalidation
// were served the freshened entry unvalidated. Bob, whose own request the
// origin answers with his page (another ETag), got Alice's. Such an entry's
// revalidations now join no flight at all.
func TestSharedNoCacheRevalidationNotHandedToWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		open := make(chan struct{})
		var calls atomic.Int32
		opened := make(chan struct{})
		close(opened)
		page := accountPage("no-cache", opened, new(atomic.Int32))
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 2 { // Alice's revalidation
				<-open
			}
			page(w, r)
		}))
		require.Equal(t, "account of alice", getWithSession(h, "/account", "alice").Body.String())

		alice, bob := make(chan *httptest.ResponseRecorder, 1), make(chan *httptest.ResponseRecorder, 1)
		go func() { alice <- getWithSession(h, "/account", "alice") }()
		synctest.Wait() // Alice's revalidation waits for open
		go func() { bob <- getWithSession(h, "/account", "bob") }()
		synctest.Wait()
		// An entry never reusable unvalidated is revalidated by each
		// request on its own (view.miss): Bob does not wait for Alice's.
		require.EqualValues(t, 3, calls.Load(), "Bob's revalidation runs beside Alice's")
		close(open)

		a, b := <-alice, <-bob
		assert.Equal(t, "account of alice", a.Body.String(), "Alice's own revalidation")
		assert.Equal(t, "account of bob", b.Body.String(), "Bob was served what Alice's 304 vouched for")
		assert.EqualValues(t, 3, calls.Load(), "Bob's request is revalidated")
	})
}

// TestSharedStaleByEndNotHandedToWaiters: a response fresh when its header
// came (max-age=1) whose body takes longer than its lifetime is stale when
// the run ends: the requests that waited for it run their own rather than
// be served it unvalidated (RFC 9111 section 4.2).
func TestSharedStaleByEndNotHandedToWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		open := make(chan struct{})
		var calls atomic.Int32
		h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Cache-Control", "max-age=1")
			w.WriteHeader(http.StatusOK)
			if n == 1 {
				<-open
				time.Sleep(2 * time.Second) // the body takes its time
			}
			fmt.Fprintf(w, "run %d", n)
		}))
		first, waiter := make(chan *httptest.ResponseRecorder, 1), make(chan *httptest.ResponseRecorder, 1)
		go func() { first <- get(h, "/slow") }()
		synctest.Wait()
		go func() { waiter <- get(h, "/slow") }()
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load(), "the second request waits for the first one's run")
		close(open)
		assert.Equal(t, "run 1", (<-first).Body.String())
		assert.Equal(t, "run 2", (<-waiter).Body.String(), "the waiter was served a stale response")
	})
}

// TestSharedNoCacheStreamReleasesWaiters: a streamed response (NDJSON
// flushed line by line, as a watch or log-follow API sends it) with
// "Cache-Control: no-cache", which a SharedCache view stores if it ends
// within MaxBodySize, held every concurrent request for its URL until the
// stream ended: nothing it makes may be handed to them. They are released
// as soon as its header is committed, and each runs its own.
func TestSharedNoCacheStreamReleasesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		open, end := make(chan struct{}), make(chan struct{})
		var calls atomic.Int32
		h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := calls.Add(1)
			if n == 1 {
				<-open
			}
			w.Header().Set("Content-Type", "application/x-ndjson")
			w.Header().Set("Cache-Control", "no-cache")
			w.WriteHeader(http.StatusOK)
			fmt.Fprintf(w, "{\"watcher\":%d}\n", n)
			w.(http.Flusher).Flush()
			if n == 1 {
				<-end // the first watcher's stream goes on
			}
		}))
		first, second := make(chan *httptest.ResponseRecorder, 1), make(chan *httptest.ResponseRecorder, 1)
		go func() { first <- get(h, "/watch") }()
		synctest.Wait()
		go func() { second <- get(h, "/watch") }()
		synctest.Wait()
		require.EqualValues(t, 1, calls.Load(), "the second watcher waits for the first one's run")
		close(open)
		synctest.Wait() // the first stream is committed, and goes on
		select {
		case w := <-second:
			assert.Equal(t, "{\"watcher\":2}\n", w.Body.String(), "the second watcher's own stream")
		default:
			t.Error("the second watcher waits for the first one's stream to end")
		}
		close(end)
		assert.Equal(t, "{\"watcher\":1}\n", (<-first).Body.String())
	})
}

// TestFlightKeepsKeysOfResponseNotHanded: a call released at commit
// without its response (no-cache: not for the waiters) whose run then
// stores it keeps the path version keys it decides for: deleted, they
// would leave the entry just stored unreachable.
func TestFlightKeepsKeysOfResponseNotHanded(t *testing.T) {
	var g viewFlight
	c, leader := g.join("k", true)
	require.True(t, leader)
	g.release(c, viewResult{}) // at commit: the waiters run their own
	g.release(c, viewResult{snap: new(httpcache.Snapshot)})
	keys, del, _ := g.end(c, []string{"p/path"})
	assert.Equal(t, []string{"p/path"}, keys)
	assert.False(t, del, "the stored response's path version key is kept")

	c, _ = g.join("k", true)
	g.release(c, viewResult{})
	keys, del, _ = g.end(c, []string{"p/path"})
	assert.Equal(t, []string{"p/path"}, keys)
	assert.True(t, del, "nothing stored: the key goes")
}
