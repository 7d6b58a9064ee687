package caching

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/null"
)

// Regression tests of issue 12 (hardening): each is named after what broke.

// getHost is get with the request's Host set.
func getHost(h http.Handler, host, target string, hdr ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Host = host
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Add(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestCachedHostNotInKey: /page on a.example and on b.example shared one
// entry, so one tenant was served another's page.
func TestCachedHostNotInKey(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "site of %s", r.Host)
		}))
		assert.Equal(t, "site of a.example", getHost(ch, "a.example", "/page").Body.String())
		assert.Equal(t, "site of b.example", getHost(ch, "b.example", "/page").Body.String())
		assert.Equal(t, "site of a.example", getHost(ch, "a.example", "/page").Body.String())
		// The Host as sent is the key's: a handler (or http.ServeMux, which
		// matches hosts case-sensitively) may answer another spelling
		// otherwise, so it gets its own entry.
		assert.Equal(t, "site of A.Example:80", getHost(ch, "A.Example:80", "/page").Body.String())
		assert.EqualValues(t, 3, e.c.Stats().Misses)
		assert.EqualValues(t, 1, e.c.Stats().Hits)
	})
}

// TestCachedMuxHostPatternsShareEntry: CachedMux with host patterns
// (a.example/page, b.example/page) served one host's page to the other.
func TestCachedMuxHostPatternsShareEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		mux := http.NewServeMux()
		mux.HandleFunc("a.example/page", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "A") })
		mux.HandleFunc("b.example/page", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprint(w, "B") })
		ch := e.c.CachedMux(mux, time.Minute)
		assert.Equal(t, "A", getHost(ch, "a.example", "/page").Body.String())
		assert.Equal(t, "B", getHost(ch, "b.example", "/page").Body.String())
		assert.Equal(t, "A", getHost(ch, "a.example", "/page").Body.String())
	})
}

// TestCachedSchemeInKey: a response over TLS and one over plain HTTP may
// differ (links, redirects): they are apart, like the host.
func TestCachedSchemeInKey(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ch := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.TLS != nil)
	}))
	plain := httptest.NewRequest(http.MethodGet, "/p", nil)
	secure := httptest.NewRequest(http.MethodGet, "/p", nil)
	secure.TLS = &tls.ConnectionState{}
	for range 2 {
		w := httptest.NewRecorder()
		ch.ServeHTTP(w, plain)
		assert.Equal(t, "false", w.Body.String())
		w = httptest.NewRecorder()
		ch.ServeHTTP(w, secure)
		assert.Equal(t, "true", w.Body.String())
	}
}

// TestCachedIgnoreHost: the explicit option shares entries between names.
func TestCachedIgnoreHost(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := &counter{}
	ch := c.Cached(time.Minute, IgnoreHost())(h)
	getHost(ch, "a.example", "/page")
	getHost(ch, "www.a.example", "/page")
	assert.EqualValues(t, 1, h.calls.Load())
}

// TestCachedCancelledRequestStored: a handler that answers a cancelled
// request with a fallback had the fallback stored and served as a HIT to the
// requests that waited and to later ones.
func TestCachedCancelledRequestStored(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			e := newViewEnv(t, k)
			release := make(chan struct{})
			var mu sync.Mutex
			calls := 0
			ch := e.c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				calls++
				first := calls == 1
				mu.Unlock()
				if first {
					<-release
					if r.Context().Err() != nil {
						fmt.Fprint(w, "fallback")
						return
					}
				}
				fmt.Fprint(w, "real")
			}))
			ctx, cancel := context.WithCancel(context.Background())
			leader := httptest.NewRequest(http.MethodGet, "/report", nil).WithContext(ctx)
			lw := httptest.NewRecorder()
			done := make(chan struct{})
			go func() { ch.ServeHTTP(lw, leader); close(done) }()
			synctest.Wait()
			waiter := make(chan *httptest.ResponseRecorder)
			go func() { waiter <- get(ch, "/report") }()
			synctest.Wait()
			cancel() // the leader's client hangs up
			close(release)
			<-done
			assert.Equal(t, "fallback", lw.Body.String(), "the leader's client gets what its handler wrote")
			w := <-waiter
			assert.Equal(t, "real", w.Body.String(), "the waiter ran the handler itself, as the new leader")
			w = get(ch, "/report")
			assert.Equal(t, "real", w.Body.String())
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		})
	})
}

// TestCachedVariantsUnbounded: a thousand values of a header the response
// varies on stored a thousand entries for one URL.
func TestCachedVariantsUnbounded(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{fn: vary("User-Agent")}
		ch := e.c.Cached(time.Minute, MaxVariants(4), CacheStatusHeader("X-Cache"))(h)
		for i := range 10 {
			get(ch, "/page", "User-Agent", fmt.Sprint("bot/", i))
		}
		assert.EqualValues(t, 10, h.calls.Load())
		for i := range 4 {
			w := get(ch, "/page", "User-Agent", fmt.Sprint("bot/", i))
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "variant %d is one of the first four", i)
		}
		for i := 4; i < 10; i++ {
			w := get(ch, "/page", "User-Agent", fmt.Sprint("bot/", i))
			assert.Equal(t, "MISS", w.Header().Get("X-Cache"), "variant %d is past the bound", i)
		}
		assert.EqualValues(t, 16, h.calls.Load())
		// Past their life, the variants and their record expire: new ones
		// are stored again.
		e.clock.Advance(2 * time.Minute)
		get(ch, "/page", "User-Agent", "bot/9")
		assert.Equal(t, "HIT", get(ch, "/page", "User-Agent", "bot/9").Header().Get("X-Cache"))
	})
}

// TestCachedJoinedRequestCountedAsMiss: with the null backend, requests that
// joined an identical request in flight said X-Cache: HIT while Stats.Hits
// stayed 0. Now both say hit.
func TestCachedJoinedRequestCountedAsMiss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(&Options{Backend: null.New()})
		defer c.Close()
		release := make(chan struct{})
		ch := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			<-release
			fmt.Fprint(w, "x")
		}))
		const n = 5
		statuses := make([]string, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { statuses[i] = get(ch, "/").Header().Get("X-Cache") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		hits := 0
		for _, s := range statuses {
			if s == "HIT" {
				hits++
			}
		}
		st := c.Stats()
		assert.Equal(t, n-1, hits, "every request but the leader joined it")
		assert.EqualValues(t, hits, st.Hits, "X-Cache and Stats tell the same story")
		assert.EqualValues(t, 1, st.Misses)
	})
}

// TestCachedStatsCountOnce: each request counts once, whatever path it
// takes (a stale entry served for a failing handler used to count a miss,
// then undo it).
func TestCachedStatsCountOnce(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		fail := false
		ch := e.c.Cached(time.Minute, StaleIfError(time.Hour))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if fail {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			fmt.Fprint(w, "ok")
		}))
		get(ch, "/")                     // miss
		get(ch, "/")                     // hit
		send(ch, http.MethodPost, "/")   // bypass
		e.clock.Advance(2 * time.Minute) // expired, within stale-if-error
		fail = true
		assert.Equal(t, "ok", get(ch, "/").Body.String()) // stale
		st := e.c.Stats()
		assert.Equal(t, Stats{Hits: 1, Misses: 1, StaleHits: 1, Bypasses: 1}, Stats{Hits: st.Hits, Misses: st.Misses, StaleHits: st.StaleHits, Bypasses: st.Bypasses})
	})
}

// TestCachedLongPathVersionKey: the version key of a path held the whole
// path in its name (100 requests to a 100 KB path left 12.6 MB in Redis).
func TestCachedLongPathVersionKey(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	long := "/" + strings.Repeat("p", 100<<10)
	k := c.pathTagKey(long)
	assert.LessOrEqual(t, len(k), maxReadableKey+len(kindPath))
	assert.NotEqual(t, k, c.pathTagKey(long+"q"))
}

// TestViewOptionConflicts: contradicting options were silently resolved
// (KeyFunc overrode the format, the last of PathOnly/QueryString won,
// RouteTTL on Cached was ignored). They are errors naming both.
func TestViewOptionConflicts(t *testing.T) {
	keyFn := KeyFunc(func(r *http.Request) string { return r.URL.Path })
	for name, tc := range map[string]struct {
		opts []ViewOption
		mux  bool
		want string
	}{
		"PathOnly and QueryString": {opts: []ViewOption{PathOnly(), QueryString(QueryKeyOptions{})}, want: "PathOnly and QueryString"},
		"KeyFunc and KeyFormat":    {opts: []ViewOption{keyFn, KeyFormat("x/%s")}, want: "KeyFunc and KeyFormat"},
		"KeyFunc and PathOnly":     {opts: []ViewOption{keyFn, PathOnly()}, want: "PathOnly"},
		"RouteTTL on Cached":       {opts: []ViewOption{RouteTTL("GET /", time.Second)}, want: "RouteTTL"},
		"SkipRoutes on Cached":     {opts: []ViewOption{SkipRoutes("GET /")}, want: "SkipRoutes"},
		"BypassIf of another type": {opts: []ViewOption{BypassIf(func(context.Context, int) bool { return false })}, want: "BypassIf takes a func(context.Context, *http.Request) bool"},
		"StoreIf of another type":  {opts: []ViewOption{StoreIf(func(string) bool { return false })}, want: "StoreIf"},
		"negative MaxVariants":     {opts: []ViewOption{MaxVariants(-1)}, want: "MaxVariants"},
	} {
		t.Run(name, func(t *testing.T) {
			_, _, err := newViewConfig(tc.opts, tc.mux)
			require.ErrorIs(t, err, ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	_, _, err := newViewConfig([]ViewOption{RouteTTL("GET /", time.Second)}, true)
	assert.NoError(t, err, "RouteTTL belongs to CachedMux")
	c := Must(nil)
	defer c.Close()
	assert.Panics(t, func() { c.Cached(time.Minute, PathOnly(), QueryString(QueryKeyOptions{})) })
}

// TestCachedOuterHeaderSpellingStored: the recorder canonicalizes header
// keys at commit, so a field an outer middleware set under another spelling
// (w.Header()["x-request-id"]) no longer matched the copy taken before the
// handler ran, and was stored and replayed to other clients.
func TestCachedOuterHeaderSpellingStored(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute)(&counter{})
		n := 0
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n++
			w.Header()["x-request-id"] = []string{fmt.Sprint(n)}
			ch.ServeHTTP(w, r)
		})
		get(outer, "/p")
		w := get(outer, "/p")
		var ids []string // every spelling: all of them go on the wire
		for k, vs := range w.Header() {
			if strings.EqualFold(k, "X-Request-Id") {
				ids = append(ids, vs...)
			}
		}
		assert.Equal(t, []string{"2"}, ids, "request 2 gets its own id, not request 1's")
		assert.Equal(t, " #1", w.Body.String(), "served from the cache")
	})
}

// TestCachedForeignNegotiatorPoisons: a handler negotiating with a grammar
// of its own (here: "gzip" anywhere in the header) answered gzip to
// "gzip;q=0"; stored under that request's negotiation profile, it went to
// every request of the profile, such as "deflate;q=0", which accepts no
// coding at all.
func TestCachedForeignNegotiatorPoisons(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ch := e.c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Vary", "Accept-Encoding")
			if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				w.Header().Set("Content-Encoding", "gzip")
			}
			fmt.Fprint(w, "body")
		}))
		get(ch, "/p", "Accept-Encoding", "gzip;q=0")
		w := get(ch, "/p", "Accept-Encoding", "deflate;q=0")
		assert.Empty(t, w.Header().Get("Content-Encoding"), "a coding the client refused")
		// A coding the request accepts is stored as before.
		get(ch, "/q", "Accept-Encoding", "gzip")
		w = get(ch, "/q", "Accept-Encoding", "GZIP")
		assert.Equal(t, "gzip", w.Header().Get("Content-Encoding"))
		assert.NotEmpty(t, w.Header().Get("Age"), "a hit")
	})
}

// TestCachedBackendDownEveryRequestRuns: with the backend down, a failed
// lookup sent every request to the handler, so identical requests in flight
// all reached the database (the outage run measured 3-5% more SQL than with
// caching off). They now wait for one run, as when the backend answers.
func TestCachedBackendDownEveryRequestRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		r.fail.Store(true)
		c := Must(&Options{Backend: r})
		defer c.Close()
		release := make(chan struct{})
		var mu sync.Mutex
		runs := 0
		ch := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			mu.Lock()
			runs++
			mu.Unlock()
			<-release
			fmt.Fprint(w, "report")
		}))
		const n = 20
		ws := make([]*httptest.ResponseRecorder, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { ws[i] = get(ch, "/report") })
		}
		synctest.Wait()
		close(release)
		wg.Wait()
		assert.Equal(t, 1, runs, "one handler run for identical requests")
		for _, w := range ws {
			assert.Equal(t, "report", w.Body.String())
		}
		assert.Equal(t, "BYPASS", get(ch, "/report").Header().Get("X-Cache"), "nothing was stored")
	})
}
