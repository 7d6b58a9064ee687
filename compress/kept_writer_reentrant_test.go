package compress_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching/compress"
)

type flushingSource struct {
	w    http.ResponseWriter
	wait chan struct{}
	n    int
}

func (r *flushingSource) Read(p []byte) (int, error) {
	if r.n == 0 {
		<-r.wait
	}
	r.n++
	if r.n > 3 {
		return 0, io.EOF
	}
	r.w.(http.Flusher).Flush() // push each chunk out: a call on the same writer
	return copy(p, "data\n"), nil
}

// TestKeptWriterStreamingAfterReturnEndsTheRequest: a handler hands its
// writer to a goroutine that streams with io.Copy from a source that
// flushes the same writer, and returns without waiting for it. compress
// detaches the writer after the handler returns and waits for the
// goroutine's ReadFrom in progress; with a read-write lock per writer the
// nested Flush waited for Detach and Detach for the ReadFrom: the request
// never completed and both goroutines leaked. The nested call now fails,
// and the request ends.
func TestKeptWriterStreamingAfterReturnEndsTheRequest(t *testing.T) {
	wait := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		src := &flushingSource{w: w, wait: wait}
		started := make(chan struct{})
		go func() {
			close(started)
			_, _ = io.Copy(w, src) // ReadFrom of the wrapped writer
		}()
		<-started
		time.Sleep(20 * time.Millisecond) // the copy is inside ReadFrom
		go func() { time.Sleep(100 * time.Millisecond); close(wait) }()
	})
	srv := httptest.NewServer(compress.Middleware(compress.Options{})(h))
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		done <- err
	}()
	select {
	case <-done:
		srv.Close()
	case <-time.After(5 * time.Second):
		// srv is left open: Close would wait for the hung handler.
		t.Fatal("the request never completed: compress's Detach and the kept writer's ReadFrom deadlocked")
	}
}
