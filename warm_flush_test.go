package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWarmStoresAFlushingProxy: a reverse proxy flushes every chunk of a
// chunked origin response through http.ResponseController. Warm's (and a
// background refresh's) writer did not flush, so the flush reached past
// the recorder and the response was refused as a stream: a SharedCache
// view stored it for clients, never for Warm or a refresh.
func TestWarmStoresAFlushingProxy(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprint(w, "page")
		w.(http.Flusher).Flush()
	}))
	defer origin.Close()
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(httputil.NewSingleHostReverseProxy(u))
	rep := c.Warm(context.Background(), h, WarmTarget{URL: "http://shop.example/x"})
	require.Len(t, rep.Results, 1)
	assert.True(t, rep.Results[0].Stored, "Warm stores a flushing proxy's response: %+v", rep.Results[0])
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://shop.example/x", nil))
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.Equal(t, "page", w.Body.String())
}
