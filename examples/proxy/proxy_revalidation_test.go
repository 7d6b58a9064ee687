package main

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// TestProxyLargeFileRevalidationNotModified: a browser that holds a large
// download (over -max-body, so never stored) revalidates it with
// If-None-Match / If-Modified-Since. The origin (http.FileServer /
// ServeContent) answers 304 without the proxy; through it, the cache
// sends the origin the request without the client's validators (a miss
// runs for a full response to store), and the whole file used to be sent
// to the client again on every revalidation. The client gets a 304 made
// from the origin's 200 now, at once; and once the file was refused, its
// URL is marked (hit-for-pass) and the next revalidations reach the origin
// with the client's validators: it answers 304 itself, sending no body.
func TestProxyLargeFileRevalidationNotModified(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 256<<10)
	modified := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	var sent, validated atomic.Int64
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") != "" {
			validated.Add(1)
		}
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		cw := &countingWriter{ResponseWriter: w, n: &sent}
		http.ServeContent(cw, r, "big.iso", modified, bytes.NewReader(big))
	}))
	defer origin.Close()
	cfg, err := parseFlags([]string{"-origin", origin.URL, "-max-body", "65536"}, func(string) string { return "" })
	require.NoError(t, err)
	c := caching.Must(nil)
	defer c.Close()
	proxy, _, err := newProxy(cfg, c, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	front := httptest.NewServer(proxy)
	defer front.Close()

	for i := range 3 {
		req, _ := http.NewRequest(http.MethodGet, front.URL+"/big.iso", nil)
		req.Header.Set("If-None-Match", `"v1"`)
		req.Header.Set("If-Modified-Since", modified.Format(http.TimeFormat))
		res, err := http.DefaultTransport.RoundTrip(req)
		require.NoError(t, err)
		n, _ := io.Copy(io.Discard, res.Body)
		res.Body.Close()
		assert.Equal(t, http.StatusNotModified, res.StatusCode,
			"revalidation %d: %d bytes sent to a client that holds the file (%s: %s)", i+1, n, statusHeader, res.Header.Get(statusHeader))
		assert.Zero(t, n, "revalidation %d: bytes sent to a client that holds the file", i+1)
		assert.Equal(t, `"v1"`, res.Header.Get("Etag"), "revalidation %d", i+1)
	}
	// The cost: the first revalidation has the origin start sending the
	// file to the proxy (the URL is not yet known never to be stored); the
	// proxy's copy stops at its first write past the 304. The next two
	// reach the origin with the client's validators (hit-for-pass).
	assert.LessOrEqual(t, sent.Load(), int64(len(big)), "bytes the origin sent the proxy")
	assert.Equal(t, int64(2), validated.Load(), "revalidations the origin answered itself")
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	return w.ResponseWriter.Write(p)
}
