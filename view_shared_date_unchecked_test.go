package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestSharedCacheDateUncheckedResponseIsNotDatedYearOne: the Recorder calls
// its Date hook after Check, but Check does not run for a response the
// Recorder refuses itself at commit (a declared Trailer, an event stream
// with StoreFlushed, which a SharedCache view sets). The hook then formats
// the zero respTime: the response goes out with "Date: Mon, 01 Jan 0001
// 00:00:00 GMT" where, without the cache, net/http dates it now.
func TestSharedCacheDateUncheckedResponseIsNotDatedYearOne(t *testing.T) {
	for name, page := range map[string]http.HandlerFunc{
		"trailer": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Trailer", "X-Sum")
			_, _ = w.Write([]byte("hello"))
			w.Header().Set("X-Sum", "1")
		},
		"event-stream": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-cache")
			w.Header().Set("Content-Type", "text/event-stream")
			_, _ = w.Write([]byte("data: x\n\n"))
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := storeKinds[0].open(t, nil, nil, Options{})
			defer c.Close()
			srv := httptest.NewServer(c.Cached(time.Minute, SharedCache())(page))
			defer srv.Close()
			resp := fetchAt(t, srv.URL, http.MethodGet)
			require.Len(t, resp.Header["Date"], 1)
			d, err := http.ParseTime(resp.Header.Get("Date"))
			require.NoError(t, err)
			assert.WithinDuration(t, time.Now(), d, time.Minute, "the miss's Date: %s", resp.Header.Get("Date"))
		})
	}
}

// TestSharedCacheDateHeadFreshenWithTrailerIsNotDatedYearOne: the HEAD that
// freshens a stale SharedCache entry (view.head) has a recorder whose Check
// sets respTime, and whose Date hook formats it; a HEAD response that
// declares a Trailer is refused by the recorder before Check, and goes out
// dated "Mon, 01 Jan 0001 00:00:00 GMT".
func TestSharedCacheDateHeadFreshenWithTrailerIsNotDatedYearOne(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Etag", `"v1"`)
		if r.Method == http.MethodHead {
			w.Header().Set("Trailer", "X-Sum")
		}
		_, _ = w.Write([]byte("hello"))
	})
	clock := testutil.NewClock()
	c, _ := storeKinds[0].open(t, nil, clock, Options{})
	defer c.Close()
	srv := httptest.NewServer(c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(page))
	defer srv.Close()
	require.Equal(t, "MISS", fetchAt(t, srv.URL, http.MethodGet).Header.Get("X-Cache"))
	clock.Advance(2 * time.Minute) // stale: the HEAD runs the handler
	resp := fetchAt(t, srv.URL, http.MethodHead)
	require.Len(t, resp.Header["Date"], 1)
	d, err := http.ParseTime(resp.Header.Get("Date"))
	require.NoError(t, err)
	assert.WithinDuration(t, clock.Now(), d, time.Minute, "the HEAD's Date: %s (%s)", resp.Header.Get("Date"), resp.Header.Get("X-Cache"))
}
