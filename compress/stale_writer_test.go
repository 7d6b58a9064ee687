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

// TestKeptWriterNeverReachesTheNextResponse: a handler that keeps its
// ResponseWriter past return (a goroutine that logs late, a timeout path
// that forgot to stop a writer) breaks the ResponseWriter contract. The
// writers are pooled: the late write used to land in the response of
// whichever request the pool gave the writer to next (Bob's body was
// "ALICE-SECRET-TOKEN hello bob"), and nil-panicked on a writer not yet
// given out again. It now returns ErrHandlerReturned, whether or not the
// writer was reused, through Handler and through Conditional.
func TestKeptWriterNeverReachesTheNextResponse(t *testing.T) {
	for _, tc := range []struct {
		name string
		wrap func(http.Handler) http.Handler
		req  func(path string) *http.Request
	}{
		{"Handler", compress.Must(compress.Options{}).Handler, plainRequest},
		{"Handler, conditional", compress.Must(compress.Options{}).Handler, conditionalRequest},
		{"Conditional", compress.Conditional, conditionalRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var kept http.ResponseWriter
			var lateErr error
			var lateHeader http.Header
			h := tc.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/alice" {
					w.Header().Set("Content-Type", "text/plain")
					_, _ = io.WriteString(w, "hello alice")
					kept = w // kept past return
					return
				}
				// Alice's late writer fires while Bob is served
				// (sequenced with the handler: no data race).
				_, lateErr = io.WriteString(kept, "ALICE-SECRET-TOKEN ")
				lateHeader = kept.Header()
				lateHeader.Set("X-Alice", "secret")
				kept.WriteHeader(http.StatusTeapot)
				w.Header().Set("Content-Type", "text/plain")
				_, _ = io.WriteString(w, "hello bob")
			}))
			for range 50 { // the pool hands the writer back on the same P
				h.ServeHTTP(httptest.NewRecorder(), tc.req("/alice"))
				bob := httptest.NewRecorder()
				h.ServeHTTP(bob, tc.req("/bob"))
				require.ErrorIs(t, lateErr, compress.ErrHandlerReturned)
				require.Equal(t, "hello bob", bob.Body.String(), "Bob's response carries Alice's late write")
				require.Equal(t, http.StatusOK, bob.Code)
				require.Empty(t, bob.Header().Get("X-Alice"))
			}
			// Not reused: an error too, not a nil-pointer panic.
			_, err := io.WriteString(kept, "late")
			assert.ErrorIs(t, err, compress.ErrHandlerReturned)
			assert.ErrorIs(t, http.NewResponseController(kept).Flush(), compress.ErrHandlerReturned)
		})
	}
}

// TestKeptWriterRacingTheNextRequest: a goroutine of Alice's handler goes
// on writing after the handler returned, while other requests are served
// concurrently with writers from the same pool. None of its writes reaches
// another response, and (under -race) none races with the middleware's
// own use of the writer as it completes Alice's response or serves the
// next: each late write either lands in Alice's response before it is
// completed, or fails with ErrHandlerReturned.
func TestKeptWriterRacingTheNextRequest(t *testing.T) {
	c := compress.Must(compress.Options{MinSize: 1})
	var late sync.WaitGroup
	h := c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		if r.URL.Path != "/alice" {
			_, _ = io.WriteString(w, "hello bob")
			return
		}
		started := make(chan struct{})
		late.Go(func() {
			for i := 0; ; i++ {
				if _, err := io.WriteString(w, "ALICE "); err != nil {
					assert.ErrorIs(t, err, compress.ErrHandlerReturned)
					return
				}
				if i == 0 {
					close(started)
				}
			}
		})
		<-started // returns while the goroutine writes
	}))
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range 20 {
				h.ServeHTTP(httptest.NewRecorder(), plainRequest("/alice"))
				bob := httptest.NewRecorder()
				h.ServeHTTP(bob, plainRequest("/bob"))
				assert.Equal(t, "hello bob", bob.Body.String())
			}
		})
	}
	wg.Wait()
	late.Wait()
}

func plainRequest(path string) *http.Request {
	return httptest.NewRequest(http.MethodGet, path, nil)
}

// conditionalRequest is a request Conditional evaluates, whose validator
// does not match.
func conditionalRequest(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	r.Header.Set("If-None-Match", `"nope"`)
	return r
}

// TestKeptWriterCannotWriteWhileTheResponseCompletes: a goroutine of the
// handler writes after the handler returned, while the middleware
// completes the response (it writes the encoded body below). The write
// fails with ErrHandlerReturned: it neither reaches the encoder the
// middleware is closing nor races with it.
func TestKeptWriterCannotWriteWhileTheResponseCompletes(t *testing.T) {
	var kept http.ResponseWriter
	var lateErr error
	below := &hookedWriter{ResponseRecorder: httptest.NewRecorder()}
	below.onWrite = func() {
		// The middleware is completing the response: the late
		// goroutine writes now, and is waited for.
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, lateErr = io.WriteString(kept, "LATE")
		}()
		<-done
	}
	h := compress.Must(compress.Options{MinSize: 1}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "hello alice")
		kept = w
	}))
	r := plainRequest("/alice")
	r.Header.Set("Accept-Encoding", "gzip")
	h.ServeHTTP(below, r)
	require.Equal(t, "gzip", below.Header().Get("Content-Encoding"))
	require.ErrorIs(t, lateErr, compress.ErrHandlerReturned)
	assert.Equal(t, "hello alice", string(decode(t, "gzip", below.Body.Bytes())))
}

// hookedWriter calls onWrite (once) at its first Write.
type hookedWriter struct {
	*httptest.ResponseRecorder
	onWrite func()
}

func (w *hookedWriter) Write(p []byte) (int, error) {
	if f := w.onWrite; f != nil {
		w.onWrite = nil
		f()
	}
	return w.ResponseRecorder.Write(p)
}
