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
			srv := slowOuterServer(t, view)
			assertWaitersNotHeld(t, srv.URL+"/p", page)
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
	srv := slowOuterServer(t, view)
	res, err := http.Get(srv.URL + "/p")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	time.Sleep(1100 * time.Millisecond) // stale
	assertWaitersNotHeld(t, srv.URL+"/p", page)
}

// assertWaitersNotHeld sends url a request whose outer writer is slow
// (X-Slow), then, while it runs, three plain ones: each must get page
// within a second, and the slow one page whole.
func assertWaitersNotHeld(t *testing.T, url, page string) {
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
	time.Sleep(50 * time.Millisecond) // the leader is running
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			res, err := http.Get(url)
			if !assert.NoError(t, err) {
				return
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			assert.Equal(t, page, string(b))
			assert.Less(t, time.Since(start), time.Second, "a waiter held by the leader's outer writer")
		}()
	}
	wg.Wait()
	require.Equal(t, page, <-leader, "the leader's client gets its body whole, once")
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
