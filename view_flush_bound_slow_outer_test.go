package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// firstWriteGate is an outer middleware's writer (it keeps Flush) whose
// first Write waits until release is closed, as a throttle or a writer
// that flushes each write to a client that does not read would: net/http
// itself would have buffered the bytes. Past limit it lets the write go on
// its own and records that it did (timedOut), so that a test that fails
// does not hang.
type firstWriteGate struct {
	http.ResponseWriter
	blocked  chan struct{} // closed when the first Write starts waiting
	release  chan struct{}
	limit    time.Duration
	once     sync.Once
	timedOut atomic.Bool
}

func (g *firstWriteGate) Write(p []byte) (int, error) {
	first := false
	g.once.Do(func() {
		first = true
		close(g.blocked)
	})
	if first {
		select {
		case <-g.release:
		case <-time.After(g.limit):
			g.timedOut.Store(true)
		}
	}
	return g.ResponseWriter.Write(p)
}

func (g *firstWriteGate) Flush() { _ = http.NewResponseController(g.ResponseWriter).Flush() }

// TestSharedFlushSlowOuterWriterDoesNotHoldWaiters: in a SharedCache view
// (StoreFlushed), a handler that flushes has the recorder's pump write the
// body below; Finish then waited for the pump's first write, without
// bound, before the response was stored and handed to the waiters, so an
// outer writer that held that write (2 s here) held every request waiting
// on the key as long. Finish now waits at most httpcache.FirstWriteWait:
// past it the response is not stored, the waiters take one new run, and
// the leader's client still gets its body whole, once, when its writer
// lets it go.
func TestSharedFlushSlowOuterWriterDoesNotHoldWaiters(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := strings.Repeat("page ", 300) // past the first 512 bytes
	gate := &firstWriteGate{blocked: make(chan struct{}), release: make(chan struct{}), limit: 2 * time.Second}
	var runs atomic.Int32
	view := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		w.Header().Set("Cache-Control", "public, max-age=60")
		_, _ = io.WriteString(w, page[:100])
		w.(http.Flusher).Flush()
		if r.Header.Get("X-Slow") != "" {
			// A short wait, not an order: the waiters, sent once the
			// pump's write is held, reach the flight while the leader's
			// handler still runs.
			<-gate.blocked
			time.Sleep(100 * time.Millisecond)
		}
		_, _ = io.WriteString(w, page[100:])
	}))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			gate.ResponseWriter = w
			w = gate
		}
		view.ServeHTTP(w, r)
	}))
	defer srv.Close()

	leader := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/p", nil)
		req.Header.Set("X-Slow", "1")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			leader <- err.Error()
			return
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		leader <- string(b)
	}()
	<-gate.blocked
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(srv.URL + "/p")
			if !assert.NoError(t, err) {
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, page, string(b))
		}()
	}
	wg.Wait()
	assert.False(t, gate.timedOut.Load(), "the waiters were held until the leader's outer writer let its write go")
	close(gate.release)
	require.Equal(t, page, <-leader, "the leader's client gets its body whole, once")
	assert.EqualValues(t, 2, runs.Load(), "the waiters took one new run, not one each")
}
