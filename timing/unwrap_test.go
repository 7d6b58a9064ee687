package timing_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// unwrapOnly is a Go 1.20-style outer middleware writer: it has Unwrap but
// neither Flush nor Hijack, so the timing writer inside it has neither.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

func behindUnwrapOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(unwrapOnly{w}, r)
	})
}

// A handler's http.ResponseController.Flush must commit the headers through
// the middleware even when the writer below it is reachable only through
// Unwrap: the client sees X-Response-Time and Server-Timing.
func TestControllerFlushBehindUnwrapOnlyWriterSetsHeaders(t *testing.T) {
	mw := timing.Must(timing.Options{Expose: func(*http.Request) bool { return true }})
	srv := httptest.NewServer(behindUnwrapOnly(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		timing.Add(r.Context(), "db", 0, "")
		assert.NoError(t, http.NewResponseController(w).Flush())
		_, _ = io.WriteString(w, "streamed")
	}))))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	assert.Equal(t, "streamed", string(body))
	assert.NotEmpty(t, resp.Header.Get("X-Response-Time"), "X-Response-Time missing after a ResponseController flush")
	assert.Contains(t, resp.Header.Get("Server-Timing"), "db", "Server-Timing missing after a ResponseController flush")
}

// A hijack through http.ResponseController behind an Unwrap-only writer must
// be seen by the middleware: the Report says Hijacked and 101, and the
// middleware does not write a 200 on the hijacked connection.
func TestControllerHijackBehindUnwrapOnlyWriterIsReported(t *testing.T) {
	reports := make(chan timing.Report, 1)
	mw := timing.Must(timing.Options{Observe: func(rep timing.Report) { reports <- rep }})
	srv := httptest.NewServer(behindUnwrapOnly(mw(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if !assert.NoError(t, err) {
			return
		}
		_, _ = brw.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nhijack")
		_ = brw.Flush()
		_ = conn.Close()
	}))))
	defer srv.Close()

	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	body, _ := io.ReadAll(bufio.NewReader(resp.Body))
	resp.Body.Close()
	assert.Equal(t, "hijack", string(body))

	rep := <-reports
	assert.True(t, rep.Hijacked, "Report.Hijacked")
	assert.Equal(t, http.StatusSwitchingProtocols, rep.Status, "Report.Status")
}
