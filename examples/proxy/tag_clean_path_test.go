package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTagMatchesCleanedPath: with -tag /api/=api, the prefix was matched
// against the path as it came, so "//api/x" (or "/./api/x", "/x/../api/x")
// was stored untagged, and POST /invalidate?tag=api left it in the cache,
// although an origin that merges slashes and resolves dot segments served
// /api/x's page for it. The prefixes are now matched against the cleaned
// path; the request still reaches the origin as it came.
func TestTagMatchesCleanedPath(t *testing.T) {
	var calls atomic.Int64
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "origin %s #%d", r.URL.EscapedPath(), calls.Add(1))
	})
	front, admin := startProxy(t, origin, nil, "-tag", "/api/=api")
	// raw sends GET p as written: a client may clean it otherwise.
	raw := func(p string) string {
		conn, err := net.Dial("tcp", strings.TrimPrefix(front.URL, "http://"))
		require.NoError(t, err)
		defer conn.Close()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", p)
		res, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		b, err := io.ReadAll(res.Body)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(b), "origin "+p+" "), "%s reached the origin as %q", p, b)
		return string(b)
	}
	tagged := []string{"/api/x", "//api/x", "/./api/x", "/x/../api/x", "/api//x", "/%61pi/x", "/api/./x/"}
	untagged := []string{"/apix", "/api/..", "/other"}
	before := map[string]string{}
	for _, p := range append(tagged, untagged...) {
		before[p] = raw(p)
		require.Equal(t, before[p], raw(p), "%s is stored", p)
	}
	w := httptest.NewRecorder()
	admin.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/invalidate?tag=api", nil))
	require.Equal(t, http.StatusOK, w.Code)
	for _, p := range tagged {
		assert.NotEqual(t, before[p], raw(p), "%s is under /api/: invalidated with its tag", p)
	}
	for _, p := range untagged {
		assert.Equal(t, before[p], raw(p), "%s is not under /api/", p)
	}
}
