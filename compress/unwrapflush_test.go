package compress_test

import (
	"bufio"
	stdzlib "compress/zlib"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// unwrapOnly is an outer middleware's writer in the Go 1.20 style: it has
// Unwrap for http.ResponseController but is not itself an http.Flusher, so
// the writer compress hands to the handler is not a Flusher either, and
// http.ResponseController reaches the connection through Unwrap.
type unwrapOnly struct{ http.ResponseWriter }

func (u unwrapOnly) Unwrap() http.ResponseWriter { return u.ResponseWriter }

func behindUnwrapOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(unwrapOnly{w}, r)
	})
}

// TestResponseControllerFlushThroughUnwrapKeepsEncoding: a handler that
// flushes with http.ResponseController under a writer that is only
// reachable through Unwrap used to commit the headers downstream before
// compress had decided: the client got compressed bytes without
// Content-Encoding. The flush now goes through the middleware, and streams.
func TestResponseControllerFlushThroughUnwrapKeepsEncoding(t *testing.T) {
	c := compress.Must(compress.Options{})
	release := make(chan struct{})
	srv := httptest.NewServer(behindUnwrapOnly(c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, isFlusher := w.(http.Flusher)
		assert.False(t, isFlusher, "the premise: the handler's writer is not a Flusher")
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "event one\n")
		assert.NoError(t, http.NewResponseController(w).Flush())
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = w.Write(big)
	}))))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second) // fail, not hang, if the flush is lost
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL, nil)
	req.Header.Set("Accept-Encoding", "deflate")
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, "deflate", resp.Header.Get("Content-Encoding"), "the body sent is deflated")
	assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"))
	zr, err := stdzlib.NewReader(resp.Body)
	require.NoError(t, err)
	br := bufio.NewReader(zr)
	line, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "event one\n", line, "decoded before the handler went on")
	close(release)
	rest, err := io.ReadAll(br)
	require.NoError(t, err)
	assert.Equal(t, bigString, string(rest))
}

// TestConditionalFlushThroughUnwrapAnswers304: Conditional under a writer
// reachable only through Unwrap, with a handler that flushes its headers
// before the body, used to let the 200 out at the flush and then drop the
// body: the client got a 200 with an empty body. It gets the 304 now.
func TestConditionalFlushThroughUnwrapAnswers304(t *testing.T) {
	h := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"v1"`)
		_ = http.NewResponseController(w).Flush()
		_, _ = io.WriteString(w, "hello")
	}
	for _, tc := range []struct {
		name    string
		handler http.Handler
	}{
		{"Conditional", compress.Conditional(http.HandlerFunc(h))},
		{"Compressor", compress.Must(compress.Options{}).Handler(http.HandlerFunc(h))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(behindUnwrapOnly(tc.handler))
			defer srv.Close()
			for _, inm := range []string{`"v1"`, `"v0"`} {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
				req.Header.Set("If-None-Match", inm)
				resp, err := srv.Client().Do(req)
				require.NoError(t, err)
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				if inm == `"v1"` {
					assert.Equal(t, http.StatusNotModified, resp.StatusCode)
					assert.Empty(t, body)
				} else {
					assert.Equal(t, http.StatusOK, resp.StatusCode)
					assert.Equal(t, "hello", string(body))
				}
			}
		})
	}
}
