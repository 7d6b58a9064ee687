package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/compress"
)

// TestConditional304EncodesNothing: a conditional GET whose If-None-Match
// matches the encoded response's ETag gets a 304, yet the middleware went
// on encoding the whole body the handler wrote, into the void: a client
// that sends the tag it was given made the server spend an encoder (3 MiB
// of heap for zstd, and its CPU) per request, for a 304 of a few bytes,
// with no body to slow it down as a slow reader would. Whether the 304 is
// made is known from the header alone, before the first byte is encoded:
// the middleware now commits it at once and encodes nothing.
func TestConditional304EncodesNothing(t *testing.T) {
	data := randomText(1 << 20)
	const k = 16
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(k)
	srv := httptest.NewServer(compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"v"`)
		_, _ = w.Write(data)
		started.Done()
		<-release // a long export goes on
		_, _ = w.Write(data)
	})))
	defer srv.Close()
	tr := &http.Transport{DisableCompression: true, MaxConnsPerHost: k}
	defer tr.CloseIdleConnections()
	before := heapInUse()
	codes := make(chan int, k)
	for range k {
		go func() {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/export", nil)
			if err != nil {
				codes <- 0
				return
			}
			req.Header.Set("Accept-Encoding", "zstd")
			req.Header.Set("If-None-Match", `W/"v"`) // the tag it was sent
			res, err := tr.RoundTrip(req)
			if err != nil {
				codes <- 0
				return
			}
			_, _ = io.Copy(io.Discard, res.Body)
			res.Body.Close()
			codes <- res.StatusCode
		}()
	}
	started.Wait()
	per := float64(heapInUse()-before) / k / (1 << 20)
	close(release)
	for range k {
		require.Equal(t, http.StatusNotModified, <-codes)
	}
	t.Logf("%.2f MiB per in-flight 304", per)
	assert.Less(t, per, 0.5, "heap per in-flight 304: no encoder is needed for a response with no body")
}
