package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewMiss304ProxyAbortKeepsTheConnection: in front of
// httputil.ReverseProxy, a miss refused for storing (private) whose client
// holds the response is answered with a 304, and the proxy's copy of the
// origin's body then fails, by design; the proxy aborts the handler with
// http.ErrAbortHandler. The view re-raised it after the 304 had gone out
// whole: net/http closed the client's connection (over HTTP/2, reset the
// stream of a response the client already had). The view ends such a
// request normally: the next request reuses the connection.
func TestViewMiss304ProxyAbortKeepsTheConnection(t *testing.T) {
	body := strings.Repeat("x", 4<<20)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "private, max-age=60")
		w.Header().Set("ETag", `"big"`)
		_, _ = io.WriteString(w, body)
	}))
	defer origin.Close()
	u, err := url.Parse(origin.URL)
	require.NoError(t, err)
	c := Must(nil)
	defer c.Close()
	proxy := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(c.Cached(time.Minute)(proxy))
	defer srv.Close()
	client := srv.Client()
	fetch := func(inm string) (int, bool) {
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/file", nil)
		require.NoError(t, err)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := client.Do(req)
		require.NoError(t, err)
		_, err = io.Copy(io.Discard, resp.Body)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode, reused
	}
	code, _ := fetch(`"big"`)
	require.Equal(t, http.StatusNotModified, code)
	code, reused := fetch("")
	require.Equal(t, http.StatusOK, code)
	assert.True(t, reused, "the connection the 304 came on was closed by the re-raised abort")
}
