package caching

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestSharedCacheDatesWhatItReceivedUndated: a SharedCache view is a cache
// in front of its handler, and a cache that forwards or stores a response
// without Date dates it with the time it received it (RFC 9110 section
// 6.6.1), and sends the stored fields on every hit, Age telling the time
// since (RFC 9111 section 4). A handler's response without Date (none, or
// w.Header()["Date"] = nil) went out on its miss with net/http's Date or
// none, and on each hit with the time of the hit, which a downstream cache
// took for the time the response was made: Age counted twice. The miss,
// every hit (GET, HEAD, a 304) and a range of the entry now send the time
// the view received the response, read from the Cache's clock.
func TestSharedCacheDatesWhatItReceivedUndated(t *testing.T) {
	for name, undate := range map[string]func(http.Header){
		"none":       func(http.Header) {},
		"nil-valued": func(h http.Header) { h["Date"] = nil },
	} {
		t.Run(name, func(t *testing.T) {
			page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				w.Header().Set("Etag", `"v1"`)
				undate(w.Header())
				if r.Header.Get("If-None-Match") == `"v1"` {
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write(sniffedPage)
			})
			forEachStore(t, func(t *testing.T, k storeKind) {
				clock := testutil.NewClock()
				clock.Advance(1500 * time.Millisecond) // received within a second, not at its start
				c, _ := k.open(t, nil, clock, Options{})
				defer c.Close()
				srv := httptest.NewServer(c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(page))
				defer srv.Close()
				received := clock.Now().UTC().Format(http.TimeFormat)
				miss := fetchAt(t, srv.URL, http.MethodGet)
				require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
				assert.Equal(t, []string{received}, miss.Header["Date"], "the miss")
				clock.Advance(100 * time.Second)
				for _, hit := range []*http.Response{
					fetchAt(t, srv.URL, http.MethodGet),
					fetchAt(t, srv.URL, http.MethodHead),
					fetchAt(t, srv.URL, http.MethodGet, "If-None-Match", `"v1"`),
					fetchAt(t, srv.URL, http.MethodGet, "Range", "bytes=0-9"),
				} {
					what := hit.Request.Method + " " + strconv.Itoa(hit.StatusCode)
					require.Equal(t, "HIT", hit.Header.Get("X-Cache"), what)
					assert.Equal(t, []string{received}, hit.Header["Date"], "%s hit: the stored Date", what)
					assert.Equal(t, "100", hit.Header.Get("Age"), what)
				}
				// Stale: a HEAD's 200, then a GET's revalidation (a 304),
				// each without Date, freshen the entry, which is dated
				// when they were received; so is what their clients get.
				for _, method := range []string{http.MethodHead, http.MethodGet} {
					clock.Advance(time.Hour)
					received := clock.Now().UTC().Format(http.TimeFormat)
					resp := fetchAt(t, srv.URL, method)
					require.Equal(t, http.StatusOK, resp.StatusCode, method)
					assert.Equal(t, []string{received}, resp.Header["Date"], "%s %s", method, resp.Header.Get("X-Cache"))
					clock.Advance(10 * time.Second)
					hit := fetchAt(t, srv.URL, http.MethodGet)
					require.Equal(t, "HIT", hit.Header.Get("X-Cache"), method)
					assert.Equal(t, []string{received}, hit.Header["Date"], "a hit of the entry freshened by a %s", method)
					assert.Equal(t, "10", hit.Header.Get("Age"), method)
				}
			})
		})
	}
}

// TestSharedCacheHitLeavesADownstreamCacheItsRemainingLifetime: a response
// fresh by Expires (RFC 9111 section 4.2.1: its lifetime is Expires minus
// Date), stored without Date, and served from the entry 100 seconds on.
// A downstream cache (a browser, a CDN) reads its lifetime from the hit's
// Expires and Date, and its age from Age (section 4.2.3): it must find the
// remaining lifetime the view itself finds. With the hit dated when it was
// served, it found 100 seconds less, the Age counted twice.
func TestSharedCacheHitLeavesADownstreamCacheItsRemainingLifetime(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		clock := testutil.NewClock()
		c, _ := k.open(t, nil, clock, Options{})
		defer c.Close()
		received := clock.Now()
		expires := received.Add(time.Hour).UTC().Format(http.TimeFormat)
		page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Expires", expires)
			_, _ = w.Write(sniffedPage)
		})
		srv := httptest.NewServer(c.Cached(Forever, SharedCache(), CacheStatusHeader("X-Cache"))(page))
		defer srv.Close()
		require.Equal(t, "MISS", fetchAt(t, srv.URL, http.MethodGet).Header.Get("X-Cache"))
		clock.Advance(100 * time.Second)
		hit := fetchAt(t, srv.URL, http.MethodGet)
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		require.Equal(t, []string{received.UTC().Format(http.TimeFormat)}, hit.Header["Date"], "the stored receipt time")
		date, err := http.ParseTime(hit.Header.Get("Date"))
		require.NoError(t, err)
		exp, err := http.ParseTime(hit.Header.Get("Expires"))
		require.NoError(t, err)
		age, err := strconv.Atoi(hit.Header.Get("Age"))
		require.NoError(t, err)
		downstream := exp.Sub(date) - time.Duration(age)*time.Second
		assert.Equal(t, time.Hour-100*time.Second, downstream, "the remaining lifetime a downstream cache finds")
	})
}
