package timing_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
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
