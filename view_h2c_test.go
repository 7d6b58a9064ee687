package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestH2CUpgradeIsCached: curl --http2 on an http:// URL sends
// "Connection: Upgrade, HTTP2-Settings" and "Upgrade: h2c" with every
// request; a Go server without h2c answers it as a plain HTTP/1.1 GET, and
// so does the cache: it bypassed every such request (never a hit).
func TestH2CUpgradeIsCached(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	srv := httptest.NewServer(c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })))
	defer srv.Close()
	var got []string
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
		req.Header.Set("Connection", "Upgrade, HTTP2-Settings")
		req.Header.Set("Upgrade", "h2c")
		req.Header.Set("HTTP2-Settings", "AAMAAABkAARAAAAAAAIAAAAA")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, 200, resp.StatusCode)
		got = append(got, resp.Header.Get("X-Cache"))
	}
	assert.Equal(t, []string{"MISS", "HIT", "HIT"}, got, "curl --http2 traffic to a plain HTTP/1.1 server")
}
