package caching

import (
	"context"
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
	"github.com/go-caching/caching/internal/testutil"
)

// legacyStatus is a remote store that writes each 200 response stored
// while status is set with that status instead: what an earlier version,
// which stored 5xx, left in a Redis or file backend, under every key the
// view writes (a Vary page's variants too).
type legacyStatus struct {
	*remote
	status atomic.Int64 // 0: entries as they are written
}

func (l *legacyStatus) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if status := l.status.Load(); status != 0 {
		if e, err := decodeEntry(v); err == nil {
			if snap, err := httpcache.Decode(e.Payload); err == nil && snap.Status == http.StatusOK {
				snap.Status = int(status)
				e.Payload = snap.Encode(nil)
				v = encodeEntry(e)
			}
		}
	}
	return l.remote.Set(ctx, key, v, ttl)
}

// newLegacyCache returns a Cache on a legacyStatus store, with a test
// clock.
func newLegacyCache(t *testing.T) (*Cache, *legacyStatus, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock()
	b := &legacyStatus{remote: &remote{Backend: newSimple(t, clock)}}
	c, err := New(&Options{Backend: b, Clock: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, b, clock
}

// legacyOrigin is an origin whose pages say public, max-age=600,
// stale-while-revalidate and stale-if-error, with an ETag of their run's
// number, and vary on Accept-Language; it counts its runs.
func legacyOrigin(runs *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=600, stale-while-revalidate=600, stale-if-error=3600")
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, n))
		w.Header().Set("Vary", "Accept-Language")
		fmt.Fprintf(w, "page #%d %s", n, r.Header.Get("Accept-Language"))
	}
}

// TestSharedCacheLegacyErrorOnEveryReadPath: an entry stored with a status
// SharedCache refuses (a 500 an earlier version stored) is a miss on every
// path that reads a stored entry, not only the plain hit: a HEAD, a
// conditional request whose If-None-Match is the stored ETag (no 304 is
// made from it), a Vary variant, stale-while-revalidate, a client's
// max-stale, RefreshAhead's window and a Lease's lookups. Peek, which
// tells what a hit would serve, reported the stored 500 as fresh: it is
// not found now.
func TestSharedCacheLegacyErrorOnEveryReadPath(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    []ViewOption
		advance time.Duration // after the legacy entry is stored
		method  string
		hdr     []string
	}{
		{name: "hit"},
		{name: "head", method: http.MethodHead},
		{name: "if-none-match", hdr: []string{"If-None-Match", `"v1"`}},
		{name: "variant", hdr: []string{"Accept-Language", "fr"}},
		{name: "stale-while-revalidate", opts: []ViewOption{StaleWhileRevalidate(time.Hour)}, advance: 700 * time.Second},
		{name: "max-stale", opts: []ViewOption{HonorRequestCacheControl()}, advance: 700 * time.Second, hdr: []string{"Cache-Control", "max-stale"}},
		{name: "refresh-ahead", opts: []ViewOption{RefreshAhead(5 * time.Minute)}, advance: 400 * time.Second},
		{name: "lease", opts: []ViewOption{Lease(time.Minute)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, clock := newLegacyCache(t)
			var runs atomic.Int64
			opts := append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache")}, tc.opts...)
			v := c.Cached(time.Hour, opts...)(legacyOrigin(&runs))

			var lang string // the variant's, and its field
			var langHdr []string
			for i := 0; i+1 < len(tc.hdr); i += 2 {
				if tc.hdr[i] == "Accept-Language" {
					lang, langHdr = tc.hdr[i+1], tc.hdr[i:i+2]
				}
			}
			b.status.Store(http.StatusInternalServerError)
			require.Equal(t, http.StatusOK, get(v, "/p", langHdr...).Code, "the origin's answer")
			b.status.Store(0)
			clock.Advance(tc.advance)

			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			w := send(v, method, "/p", tc.hdr...)
			assert.Equal(t, http.StatusOK, w.Code, "the stored 500 answered")
			assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"))
			assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
			assert.Equal(t, int64(2), runs.Load(), "the origin answers the request")
			if method == http.MethodGet {
				assert.Equal(t, "page #2 "+lang, w.Body.String())
				w = get(v, "/p", langHdr...)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the origin's page replaced the entry")
				assert.Equal(t, "page #2 "+lang, w.Body.String())
			}
		})
	}

	t.Run("peek", func(t *testing.T) {
		c, b, _ := newLegacyCache(t)
		var runs atomic.Int64
		v := c.Cached(time.Hour, SharedCache())(legacyOrigin(&runs))
		b.status.Store(http.StatusBadGateway)
		get(v, "/p")
		res, fresh, err := c.Peek(httptest.NewRequest(http.MethodGet, "/p", nil), SharedCache())
		if !assert.ErrorIs(t, err, ErrNotFound, "Peek told a hit would serve the stored 502") {
			t.Logf("Peek: status %d, fresh %v", res.Status, fresh)
		}
	})
}

// TestSharedCacheLegacyErrorCollapses: requests that find an entry stored
// with a refused status wait for one run of the origin, as they would
// with no entry; the origin's page then answers them all.
func TestSharedCacheLegacyErrorCollapses(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := &legacyStatus{remote: &remote{Backend: newSimple(t, nil)}}
		c, err := New(&Options{Backend: b})
		require.NoError(t, err)
		defer c.Close()
		var runs atomic.Int64
		open := make(chan struct{})
		origin := legacyOrigin(&runs)
		v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Load() == 1 { // the second run, the first after the upgrade
				<-open
			}
			origin(w, r)
		}))
		b.status.Store(http.StatusServiceUnavailable)
		require.Equal(t, http.StatusOK, get(v, "/p").Code)
		b.status.Store(0)

		const n = 8
		done := make(chan *httptest.ResponseRecorder, n)
		go func() { done <- get(v, "/p") }()
		synctest.Wait() // the first request's run waits for open
		for range n - 1 {
			go func() { done <- get(v, "/p") }()
		}
		synctest.Wait() // the others wait for that run
		close(open)
		for range n {
			w := <-done
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "page #2 ", w.Body.String())
		}
		assert.Equal(t, int64(2), runs.Load(), "one run answered every request")
	})
}

// statusWriter is a ResponseWriter that keeps the header and the status
// and drops the body, allocating nothing.
type statusWriter struct {
	h      http.Header
	status int
}

func (w *statusWriter) Header() http.Header         { return w.h }
func (w *statusWriter) WriteHeader(status int)      { w.status = status }
func (w *statusWriter) Write(p []byte) (int, error) { return len(p), nil }

// TestSharedCacheHitAllocatesNothing: the status check that makes a legacy
// error entry a miss costs a SharedCache hit no allocation.
func TestSharedCacheHitAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := Must(nil)
	t.Cleanup(func() { c.Close() })
	h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=600")
		fmt.Fprint(w, `{"page":1}`)
	}))
	r := httptest.NewRequest(http.MethodGet, "/products?page=1", nil)
	w := &statusWriter{h: http.Header{}}
	h.ServeHTTP(w, r)
	require.Equal(t, http.StatusOK, w.status)
	allocs := testutil.AllocsPerRun(100, func() {
		clear(w.h)
		w.status = 0
		h.ServeHTTP(w, r)
	})
	assert.Zero(t, allocs)
	assert.Equal(t, int64(100+1), c.Stats().Hits, "every request after the first was a hit")
}
