package caching

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/timing"
)

// trailerProxyBody is what trailerProxyHandler writes, in trailerProxyChunks
// flushed pieces.
var trailerProxyBody = bytes.Repeat([]byte("the quick brown fox jumps over the lazy dog\n"), 200)

const trailerProxyChunks = 4

// trailerProxyHandler answers as httputil.ReverseProxy relays a chunked,
// cacheable origin response with undeclared trailers: the body in flushed
// pieces, then, at once, the trailers set with http.TrailerPrefix and (as
// handlers do, though net/http ignores it after commit) another field
// changed.
func trailerProxyHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "max-age=60")
	w.Header().Set("X-Upstream", "origin")
	size := len(trailerProxyBody) / trailerProxyChunks
	for p := trailerProxyBody; len(p) > 0; p = p[min(len(p), size):] {
		if _, err := w.Write(p[:min(len(p), size)]); err != nil {
			return
		}
		w.(http.Flusher).Flush()
	}
	w.Header()[http.TrailerPrefix+"X-Checksum"] = []string{"sum-" + strconv.Itoa(len(trailerProxyBody))}
	w.Header()[http.TrailerPrefix+"X-Origin-Status"] = []string{"done"}
	w.Header().Set("X-Upstream", "origin-finished")
	w.Header().Del("X-Upstream-Gone")
}

// headerReadingWriter is a writer below the cache that reads the whole
// header map at every Write and Flush, as a middleware that decides on
// what to do with the body at a write does (compress's writer sets
// Content-Encoding and Vary then, and net/http's copies the map at
// WriteHeader).
type headerReadingWriter struct {
	*httptest.ResponseRecorder
	reads int
}

func (w *headerReadingWriter) readHeader() {
	for k, vs := range w.Header() {
		w.reads += len(k) + len(vs)
	}
}

func (w *headerReadingWriter) Write(p []byte) (int, error) {
	w.readHeader()
	return w.ResponseRecorder.Write(p)
}

func (w *headerReadingWriter) Flush() {
	w.readHeader()
	w.ResponseRecorder.Flush()
}

// TestSharedCacheFlushHeaderRaceDirect: a SharedCache run writes what the
// handler flushed from a goroutine of its own while the handler goes on;
// the handler's header map was the writer below's, so a handler that set
// its trailers after its last flush (httputil.ReverseProxy with undeclared
// trailers) wrote the map while that goroutine's writes read it: a data
// race, and with Go maps a fatal "concurrent map read and map write". The
// handler's changes must still reach the writer below, trailers included,
// once the handler has returned.
func TestSharedCacheFlushHeaderRaceDirect(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	h := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(trailerProxyHandler))
	for i := range 200 {
		w := &headerReadingWriter{ResponseRecorder: httptest.NewRecorder()}
		w.Header().Set("X-Upstream-Gone", "yes") // an outer middleware's, deleted by the handler
		r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("/export/%d", i), nil)
		h.ServeHTTP(w, r)
		require.Equal(t, http.StatusOK, w.Code)
		require.True(t, bytes.Equal(trailerProxyBody, w.Body.Bytes()), "the whole body, once")
		got := w.Header()
		require.Equal(t, []string{"sum-" + strconv.Itoa(len(trailerProxyBody))}, got[http.TrailerPrefix+"X-Checksum"], "the trailer reaches the writer below")
		require.Equal(t, []string{"done"}, got[http.TrailerPrefix+"X-Origin-Status"])
		require.Equal(t, "origin-finished", got.Get("X-Upstream"), "the handler's last change is the end state")
		require.NotContains(t, got, "X-Upstream-Gone", "the handler's deletion is the end state")
		require.Equal(t, "max-age=60", got.Get("Cache-Control"))
	}
}

// TestSharedCacheFlushHeaderRaceServer is the set-up of the README, over a
// real HTTP/1.1 server: timing and compress outside a SharedCache view in
// front of a reverse proxy. compress decides at the first write or flush
// that reaches it, which the recorder's goroutine makes, and then sets
// Content-Encoding and Vary and commits (timing sets its header then, and
// net/http copies the map), while the handler sets its trailers. The client
// gets the compressed body and the trailers.
func TestSharedCacheFlushHeaderRaceServer(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	cached := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(trailerProxyHandler))
	handler := timing.Must(timing.Options{})(compress.Middleware(compress.Options{})(cached))
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Start()
	t.Cleanup(srv.Close)

	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 8}}
	t.Cleanup(client.CloseIdleConnections)
	const workers, each = 4, 15
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for g := range workers {
		wg.Go(func() {
			for i := range each {
				errs <- fetchTrailerProxy(client, fmt.Sprintf("%s/export/%d/%d", srv.URL, g, i))
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
}

// fetchTrailerProxy gets url with Accept-Encoding: gzip and checks the
// decoded body and the trailers.
func fetchTrailerProxy(client *http.Client, url string) error {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
		return fmt.Errorf("%s: status %d, Content-Encoding %q", url, resp.StatusCode, resp.Header.Get("Content-Encoding"))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		return err
	}
	if !bytes.Equal(trailerProxyBody, body) {
		return fmt.Errorf("%s: body of %d bytes, want %d", url, len(body), len(trailerProxyBody))
	}
	if got, want := resp.Trailer.Get("X-Checksum"), "sum-"+strconv.Itoa(len(trailerProxyBody)); got != want {
		return fmt.Errorf("%s: trailer X-Checksum %q, want %q", url, got, want)
	}
	if got := resp.Trailer.Get("X-Origin-Status"); got != "done" {
		return fmt.Errorf("%s: trailer X-Origin-Status %q, want done", url, got)
	}
	return nil
}
