package caching

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panickingOuterWriter is an outer middleware's writer (it keeps Flush)
// whose Write panics.
type panickingOuterWriter struct{ http.ResponseWriter }

func (panickingOuterWriter) Write([]byte) (int, error) { panic("outer writer") }

func (p panickingOuterWriter) Flush() { _ = http.NewResponseController(p.ResponseWriter).Flush() }

// TestSharedFlushOuterWriterPanicRecovered: in a SharedCache view, a
// handler that flushes has the recorder's pump write the body below on a
// goroutine of its own, where a panicking outer writer ended the whole
// process. The panic is now raised on the request's goroutine, where
// net/http recovers it (the one request is broken off), and the view goes
// on serving: nothing was stored from that run.
func TestSharedFlushOuterWriterPanicRecovered(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := strings.Repeat("page ", 300)
	var runs atomic.Int32
	view := c.Cached(time.Minute, SharedCache(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, page[:100])
		w.(http.Flusher).Flush()
		_, _ = io.WriteString(w, page[100:])
	}))
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Panic") != "" {
			w = panickingOuterWriter{w}
		}
		view.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // net/http logs the recovered panic
	srv.Start()
	defer srv.Close()

	req, err := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
	require.NoError(t, err)
	req.Header.Set("X-Panic", "1")
	if res, err := http.DefaultClient.Do(req); err == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
	}
	res, err := http.Get(srv.URL + "/p")
	require.NoError(t, err)
	b, err := io.ReadAll(res.Body)
	res.Body.Close()
	require.NoError(t, err)
	assert.Equal(t, page, string(b))
	assert.Equal(t, "MISS", res.Header.Get("X-Cache"), "the panicked run stored nothing")
	assert.EqualValues(t, 2, runs.Load())
}
