package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// slowOuterWriter is an outer middleware's writer whose Write is slow
// (one that throttles its client, or flushes every write to a client
// that does not read): net/http itself would have buffered the bytes.
type slowOuterWriter struct {
	http.ResponseWriter
	delay time.Duration
}

func (s slowOuterWriter) Write(p []byte) (int, error) {
	time.Sleep(s.delay)
	return s.ResponseWriter.Write(p)
}

// TestViewSlowOuterWriterDoesNotHoldWaiters: Recorder.Finish writes the
// first held bytes below before its last judgement (c8012d3), and the
// waiters are released only after Finish: a leader whose outer writer
// takes 2 s for a write held every request waiting on the key for those
// 2 s, where without the cache each would have had its page at once.
// Finish now waits a bounded time (httpcache.FirstWriteWait) for that
// write: past it, the response is not stored, the waiters go on without
// it, and the leader's client still gets its body whole, once.
func TestViewSlowOuterWriterDoesNotHoldWaiters(t *testing.T) {
	for _, mode := range viewModes {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			page := strings.Repeat("page ", 300) // past the first 512 bytes
			view := c.Cached(time.Minute, mode.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(200 * time.Millisecond)
				w.Header().Set("Cache-Control", "public, max-age=60")
				_, _ = io.WriteString(w, page)
			}))
			srv, gate := gatedOuterServer(t, view)
			assertWaitersNotHeld(t, srv.URL+"/p", gate, page)
		})
	}
}

// TestSharedRevalidationSlowOuterWriterDoesNotHoldWaiters: a SharedCache
// view serves the entry a 304 revalidated through outerJudge, which writes
// its first bytes below before it judges what the writers outside the view
// added (7ce76f5), and hands the entry to the waiters only then: a leader
// whose outer writer took 1.5 s for a write held every request waiting on
// the revalidation as long. outerJudge now waits a bounded time
// (httpcache.FirstWriteWait) for that write where the writer below is not
// net/http's own: past it the entry is not freshened, and the waiters go on.
func TestSharedRevalidationSlowOuterWriterDoesNotHoldWaiters(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	page := strings.Repeat("page ", 300) // past the first 512 bytes
	view := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			time.Sleep(200 * time.Millisecond)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, page)
	}))
	srv, gate := gatedOuterServer(t, view)
	res, err := http.Get(srv.URL + "/p")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	time.Sleep(1100 * time.Millisecond) // stale
	assertWaitersNotHeld(t, srv.URL+"/p", gate, page)
}

// assertWaitersNotHeld sends url a request whose outer writer is held
// (X-Slow, see gatedOuterServer), then, once that writer is first written
// to, three plain ones: each must get page while the slow one's writes are
// still held, and the slow one then page whole. A waiter held by the
// leader's outer writer would finish only after the writes are let
// through, which they are only once the waiters are done or 20 seconds
// have passed (a failure).
func assertWaitersNotHeld(t *testing.T, url string, gate *outerGate, page string) {
	t.Helper()
	leader := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("GET", url, nil)
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
	select {
	case <-gate.entered: // the leader has run, and writes to its client
	case <-time.After(20 * time.Second):
		close(gate.release)
		t.Fatal("the slow request never wrote to its outer writer")
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			res, err := http.Get(url)
			if !assert.NoError(t, err) {
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, page, string(b))
		})
	}
	waiters := make(chan struct{})
	go func() { wg.Wait(); close(waiters) }()
	select {
	case <-waiters:
	case <-time.After(20 * time.Second):
		t.Error("a waiter held by the leader's outer writer")
	}
	close(gate.release)
	<-waiters
	require.Equal(t, page, <-leader, "the leader's client gets its body whole, once")
}

// outerGate holds the writes of gatedOuterServer's slow requests: entered
// (capacity 1) gets a value at the first, and each waits until release is
// closed.
type outerGate struct {
	entered chan struct{}
	release chan struct{}
}

// gatedOuterWriter is slowOuterWriter whose writes wait for its gate, as
// long as the test wants, rather than a time.
type gatedOuterWriter struct {
	http.ResponseWriter
	gate *outerGate
}

func (g gatedOuterWriter) Write(p []byte) (int, error) {
	select {
	case g.gate.entered <- struct{}{}:
	default:
	}
	<-g.gate.release
	return g.ResponseWriter.Write(p)
}

// gatedOuterServer serves view behind a middleware whose writer holds each
// write of the requests with X-Slow until the gate returned is released.
func gatedOuterServer(t *testing.T, view http.Handler) (*httptest.Server, *outerGate) {
	gate := &outerGate{entered: make(chan struct{}, 1), release: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			w = gatedOuterWriter{w, gate}
		}
		view.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, gate
}

// slowOuterServer serves view behind a middleware whose writer takes 1.5 s
// per write for the requests with X-Slow.
func slowOuterServer(t *testing.T, view http.Handler) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			w = slowOuterWriter{w, 1500 * time.Millisecond}
		}
		view.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}
