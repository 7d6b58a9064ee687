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

	"github.com/go-caching/caching/internal/testutil"
)

// slowGate holds a request with X-Slow twice: its handler run, until the
// waiters have joined it (hold), and its writes to its outer writer (one
// that throttles its client, or flushes every write to a client that does
// not read: net/http itself would have buffered the bytes), until the
// waiters are done, as long as the test wants rather than for a time.
type slowGate struct {
	running chan struct{} // closed as the slow request's handler runs
	proceed chan struct{} // closed to let that handler go on
	release chan struct{} // closed to let the slow outer writes through
	joins   atomic.Int32  // waiters that joined a call (waiterJoinedHook)
}

// newSlowGate returns a gate, counting the waiters that join a call until
// the test ends.
func newSlowGate(t *testing.T) *slowGate {
	g := &slowGate{running: make(chan struct{}), proceed: make(chan struct{}), release: make(chan struct{})}
	hook := func(string) { g.joins.Add(1) }
	waiterJoinedHook.Store(&hook)
	t.Cleanup(func() {
		waiterJoinedHook.Store(nil)
		g.open(g.proceed)
		g.open(g.release)
	})
	return g
}

// open closes ch unless it is closed.
func (g *slowGate) open(ch chan struct{}) {
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// hold is called by the handler: a run for the slow request waits there
// until the test lets it go on; the others go on.
func (g *slowGate) hold(r *http.Request) {
	if r.Header.Get("X-Slow") != "" {
		close(g.running)
		<-g.proceed
	}
}

// gatedOuterWriter is an outer middleware's writer whose writes wait for
// the gate's release.
type gatedOuterWriter struct {
	http.ResponseWriter
	gate *slowGate
}

func (g gatedOuterWriter) Write(p []byte) (int, error) {
	<-g.gate.release
	return g.ResponseWriter.Write(p)
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
			gate := newSlowGate(t)
			page := strings.Repeat("page ", 300) // past the first 512 bytes
			// The waiters wait as long as the run takes (CollapseTimeout(-1)):
			// held by the leader's outer writer, they would be held until
			// its writes are let through, not until DefaultCollapseTimeout.
			opts := append([]ViewOption{CollapseTimeout(-1)}, mode.opts...)
			view := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gate.hold(r)
				w.Header().Set("Cache-Control", "public, max-age=60")
				_, _ = io.WriteString(w, page)
			}))
			srv := gatedOuterServer(t, view, gate)
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
	clock := testutil.NewMonotonicClock() // near the Date net/http sets
	c := Must(&Options{Clock: clock.Now})
	defer c.Close()
	gate := newSlowGate(t)
	page := strings.Repeat("page ", 300) // past the first 512 bytes
	// The waiters wait as long as the revalidation takes (see
	// TestViewSlowOuterWriterDoesNotHoldWaiters).
	view := c.Cached(time.Minute, SharedCache(), CollapseTimeout(-1))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=1")
		w.Header().Set("Etag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			gate.hold(r)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		_, _ = io.WriteString(w, page)
	}))
	srv := gatedOuterServer(t, view, gate)
	res, err := http.Get(srv.URL + "/p")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	clock.Advance(1100 * time.Millisecond) // stale: the slow request revalidates it
	assertWaitersNotHeld(t, srv.URL+"/p", gate, page)
}

// assertWaitersNotHeld sends url a request whose outer writer is slow
// (X-Slow), then, while its handler runs (held by gate), three plain ones,
// which join its run. Once they have, the handler goes on, and its writes
// to its client are held: the three must get page meanwhile, and the slow
// one page whole once its writes are let through. A waiter held by the
// leader's outer writer would finish only after the writes are let
// through, which they are only once the waiters are done or 20 seconds
// have passed (a failure).
func assertWaitersNotHeld(t *testing.T, url string, gate *slowGate, page string) {
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
	case <-gate.running:
	case <-time.After(20 * time.Second):
		t.Fatal("the slow request's handler never ran")
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
	until(t, "the waiters join the slow request's run", func() bool { return gate.joins.Load() >= 3 })
	close(gate.proceed)
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

// gatedOuterServer serves view behind a middleware whose writer holds the
// writes of the requests with X-Slow until gate's release.
func gatedOuterServer(t *testing.T, view http.Handler, gate *slowGate) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Slow") != "" {
			w = gatedOuterWriter{w, gate}
		}
		view.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		// A test that failed early leaves requests held by gate: srv.Close
		// would wait for them, for ever.
		gate.open(gate.proceed)
		gate.open(gate.release)
		srv.Close()
	})
	return srv
}

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
