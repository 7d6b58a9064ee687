package caching

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLongerThanDeclaredNotTruncated: a handler that declares a
// Content-Length and writes a longer body in one Write gets
// http.ErrContentLength from net/http, which sends none of it: the client
// sees a broken response. Through the cache, the client must see the same,
// not a well-formed response whose body is the first Content-Length bytes
// (a truncated document the handler never made), and the handler must see
// the error.
func TestLongerThanDeclaredNotTruncated(t *testing.T) {
	run := func(t *testing.T, wrap func(http.Handler) http.Handler) (werr error, body string, rerr error) {
		errs := make(chan error, 1)
		srv := httptest.NewServer(wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "5")
			_, err := w.Write([]byte("hello, world"))
			errs <- err
		})))
		defer srv.Close()
		resp, err := http.Get(srv.URL + "/doc")
		require.NoError(t, err)
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		return <-errs, string(b), rerr
	}
	werr, _, rerr := run(t, func(h http.Handler) http.Handler { return h })
	require.ErrorIs(t, werr, http.ErrContentLength, "net/http alone")
	require.Error(t, rerr, "net/http alone: the client sees a broken body")

	c := Must(nil)
	defer c.Close()
	werr, body, rerr := run(t, c.Cached(time.Minute))
	assert.ErrorIs(t, werr, http.ErrContentLength, "the handler sees the error it would see without the cache")
	assert.True(t, rerr != nil && errors.Is(rerr, io.ErrUnexpectedEOF), "the client sees a broken body, not %q as a whole response (err %v)", body, rerr)
}
