package timing_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/timing"
)

// observedServer serves h through the middleware with opts (and outer,
// when not nil, above it) on a real server, and returns the server and the
// channel of the Reports.
func observedServer(t *testing.T, opts timing.Options, outer func(http.Handler) http.Handler, h http.Handler) (*httptest.Server, chan timing.Report) {
	t.Helper()
	reports := make(chan timing.Report, 1)
	opts.Observe = func(r timing.Report) { reports <- r }
	handler := timing.Must(opts)(h)
	if outer != nil {
		handler = outer(handler)
	}
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the panics are the tests'
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, reports
}

// statusServer is observedServer with the default options.
func statusServer(t *testing.T, outer func(http.Handler) http.Handler, h http.HandlerFunc) (*httptest.Server, chan timing.Report) {
	t.Helper()
	return observedServer(t, timing.Options{}, outer, h)
}

// getResponse sends a GET to url and returns the response, its body read.
func getResponse(t *testing.T, srv *httptest.Server, url string) *http.Response {
	t.Helper()
	res, err := srv.Client().Get(url)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// recovering is a middleware that answers 500 to a handler's panic, as
// most frameworks do.
func recovering(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if recover() != nil {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// TestInvalidStatusReportsWhatWasSent: net/http panics on a WriteHeader
// code outside 100-999 and sends nothing; the Report said the invalid code
// (1000), a status no client ever saw. It says what was sent now: the
// recovering middleware's 500, or the 200 of a handler that recovered the
// panic itself, and 500 for an aborted connection, as for other panics.
func TestInvalidStatusReportsWhatWasSent(t *testing.T) {
	for _, code := range []int{1000, 99, -1} {
		t.Run(fmt.Sprintf("recovered above %d", code), func(t *testing.T) {
			srv, reports := statusServer(t, recovering, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(code)
			})
			res := getResponse(t, srv, srv.URL)
			assert.Equal(t, http.StatusInternalServerError, res.StatusCode)
			rep := <-reports
			assert.Equal(t, res.StatusCode, rep.Status, "the Report's status is the one the client got")
			assert.True(t, rep.Panicked)
		})
	}
	t.Run("recovered by the handler", func(t *testing.T) {
		srv, reports := statusServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
			defer func() { _ = recover() }()
			w.WriteHeader(1000)
		})
		res := getResponse(t, srv, srv.URL)
		assert.Equal(t, http.StatusOK, res.StatusCode)
		rep := <-reports
		assert.Equal(t, res.StatusCode, rep.Status, "the Report's status is the one the client got")
		assert.False(t, rep.Panicked)
	})
	t.Run("aborted", func(t *testing.T) {
		srv, reports := statusServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(1000)
		})
		_, err := srv.Client().Get(srv.URL)
		require.Error(t, err, "net/http aborts the connection")
		rep := <-reports
		assert.Equal(t, http.StatusInternalServerError, rep.Status, "reported as a panic before a status")
		assert.True(t, rep.Panicked)
	})
}

// TestGoexitBeforeStatusReports500: a handler that ends with
// runtime.Goexit before writing a status gets no response from net/http:
// the connection is closed (an HTTP/2 stream is reset with INTERNAL_ERROR).
// The Report said 0; it says 500 now, as for a panic before a status.
func TestGoexitBeforeStatusReports500(t *testing.T) {
	srv, reports := statusServer(t, nil, func(w http.ResponseWriter, r *http.Request) {
		runtime.Goexit()
	})
	_, err := srv.Client().Get(srv.URL)
	require.Error(t, err, "net/http sends no response")
	rep := <-reports
	assert.Equal(t, http.StatusInternalServerError, rep.Status)
	assert.False(t, rep.Panicked)
}
