package timing_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/timing"
)

// The request method is client data: a client that sends a 64 KiB method to
// a slow route (a pattern without a method matches any) must not get it
// into the slow-request log verbatim.
func TestSlowLogBoundsClientMethod(t *testing.T) {
	var logs testutil.LockedBuffer
	mw := timing.Must(timing.Options{Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Slow: time.Millisecond})
	mux := http.NewServeMux()
	mux.HandleFunc("/export", func(http.ResponseWriter, *http.Request) { time.Sleep(5 * time.Millisecond) })
	srv := httptest.NewServer(mw(mux))
	defer srv.Close()

	method := strings.Repeat("X", 64<<10)
	req, err := http.NewRequest(method, srv.URL+"/export", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	out := logs.String()
	require.Contains(t, out, "timing: slow request")
	assert.Less(t, len(out), 1024, "the slow-request log line carries the client's method unbounded")

	// A usual method is logged as sent.
	logs.Reset()
	req, err = http.NewRequest("PROPFIND", srv.URL+"/export", nil)
	require.NoError(t, err)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Contains(t, logs.String(), `"method":"PROPFIND"`)
}

// ServeMux gives a CONNECT request it redirects the client's own path as
// its Pattern. That path must not reach Report.Route (a metric label in
// many programs) or the slow-request log.
func TestConnectRouteIsNotTheClientPath(t *testing.T) {
	var logs testutil.LockedBuffer
	var routes []string
	var mu sync.Mutex
	mw := timing.Must(timing.Options{
		Logger: slog.New(slog.NewJSONHandler(&logs, nil)), Slow: time.Nanosecond,
		Observe: func(rep timing.Report) { mu.Lock(); routes = append(routes, rep.Route); mu.Unlock() },
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/users/{id}/", func(http.ResponseWriter, *http.Request) {})
	h := mw(mux)

	path := "/users/" + strings.Repeat("Z", 10_000)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodConnect, path, nil))
	require.Equal(t, http.StatusTemporaryRedirect, w.Code, "ServeMux redirects the CONNECT request")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/users/1/", nil))

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"", "/users/{id}/"}, routes)
	assert.NotContains(t, logs.String(), "ZZZZ", "the client's path reached the slow-request log")
}
