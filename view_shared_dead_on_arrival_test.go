package caching

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// bodyWrites is a remote backend that counts the writes of values of at
// least min bytes (a stored response's body, not a Vary record or a
// version), and holds each of them until release is closed (when block).
type bodyWrites struct {
	*remote
	min     int
	n       atomic.Int64
	block   bool
	release chan struct{}
}

func (b *bodyWrites) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if len(v) >= b.min {
		b.n.Add(1)
		if b.block {
			<-b.release
		}
	}
	return b.remote.Set(ctx, key, v, ttl)
}

// newBodyWrites returns a Cache over a bodyWrites backend.
func newBodyWrites(t *testing.T, block bool) (*Cache, *bodyWrites, *testutil.Clock) {
	t.Helper()
	clock := testutil.NewClock()
	b := &bodyWrites{remote: &remote{Backend: newSimple(t, clock)}, min: 60 << 10, block: block, release: make(chan struct{})}
	c, err := New(&Options{Backend: b, Clock: clock.Now})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	t.Cleanup(func() { close(b.release) }) // first: a held write ends before Close
	return c, b, clock
}

// TestSharedCacheDeadOnArrivalNotWritten: in a SharedCache view, a
// response with no lifetime and nothing to revalidate it by (max-age=0,
// or public alone: no ETag or Last-Modified, no stale window) can never be
// served. It used to be written to the backend all the same, whole body
// included, on every request; now nothing is written. One with a
// validator or a stale window is still stored: a 304 or a failure makes
// it useful.
func TestSharedCacheDeadOnArrivalNotWritten(t *testing.T) {
	body := strings.Repeat("x", 64<<10)
	for _, tc := range []struct {
		name        string
		header      []string
		stored      bool
		revalidated bool
	}{
		{name: "max-age=0", header: []string{"Cache-Control", "max-age=0"}},
		{name: "public", header: []string{"Cache-Control", "public"}},
		{name: "max-age=0 with an ETag", header: []string{"Cache-Control", "max-age=0", "ETag", `"v1"`}, stored: true, revalidated: true},
		{name: "max-age=0 with Last-Modified", header: []string{"Cache-Control", "max-age=0", "Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT"}, stored: true, revalidated: true},
		{name: "max-age=0 with stale-if-error", header: []string{"Cache-Control", "max-age=0, stale-if-error=60"}, stored: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b, _ := newBodyWrites(t, false)
			var calls, conditional atomic.Int64
			h := c.Cached(time.Hour, SharedCache(), StaleIfError(time.Hour))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				for i := 0; i < len(tc.header); i += 2 {
					w.Header().Set(tc.header[i], tc.header[i+1])
				}
				if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
					conditional.Add(1)
					w.WriteHeader(http.StatusNotModified)
					return
				}
				_, _ = w.Write([]byte(body))
			}))
			for range 5 {
				w := get(h, "/page")
				require.Equal(t, len(body), w.Body.Len())
			}
			assert.EqualValues(t, 5, calls.Load(), "never served without the handler")
			if tc.stored {
				assert.Positive(t, b.n.Load(), "writes of the body to the backend")
			} else {
				assert.Zero(t, b.n.Load(), "writes of a body nobody can be served to the backend")
			}
			if tc.revalidated {
				assert.EqualValues(t, 4, conditional.Load(), "the stored entry is revalidated")
			}
		})
	}
}

// TestSharedCacheDeadOnArrivalDoesNotWaitForBackend: the body of a
// response that can never be served reaches its client without waiting
// for a backend write (the write that used to be made held it, as long as
// a slow backend took).
func TestSharedCacheDeadOnArrivalDoesNotWaitForBackend(t *testing.T) {
	c, b, _ := newBodyWrites(t, true)
	body := strings.Repeat("x", 64<<10)
	h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=0")
		_, _ = w.Write([]byte(body))
	}))
	done := make(chan int)
	go func() { done <- get(h, "/page").Body.Len() }()
	select {
	case n := <-done:
		assert.Equal(t, len(body), n)
	case <-time.After(5 * time.Second):
		t.Fatalf("the client waited for the backend write of a response nobody can be served (%d held)", b.n.Load())
	}
}

// TestSharedCacheDeadOnArrivalReplacesStoredEntry: the entry a response
// that can never be served supersedes leaves the store, as when the new
// response was written over it: a stored copy is not served in place of
// the origin's next error (stale-if-error), nor as a hit once RefreshIf
// or Warm ran the handler again (Warm reports it refused: "expired").
func TestSharedCacheDeadOnArrivalReplacesStoredEntry(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		t.Run("revalidated", func(t *testing.T) {
			e := newViewEnv(t, k)
			var mode atomic.Int32
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				switch mode.Load() {
				case 0:
					w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
				case 1:
					w.Header().Set("Cache-Control", "max-age=0")
				default:
					w.WriteHeader(http.StatusInternalServerError)
				}
			}}
			ch := e.sharedView(h, StaleIfError(time.Hour))
			get(ch, "/a")
			e.clock.Advance(20 * time.Second)
			mode.Store(1)
			assert.Equal(t, "b #2", get(ch, "/a").Body.String())
			mode.Store(2)
			w := get(ch, "/a")
			assert.Equal(t, http.StatusInternalServerError, w.Code,
				"the superseded copy (%q, X-Cache %s) is not served in place of the error", w.Body.String(), w.Header().Get("X-Cache"))
		})
		t.Run("RefreshIf", func(t *testing.T) {
			e := newViewEnv(t, k)
			var refresh atomic.Bool
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				if refresh.Load() {
					w.Header().Set("Cache-Control", "max-age=0")
					return
				}
				w.Header().Set("Cache-Control", "max-age=600")
			}}
			ch := e.sharedView(h, RefreshIf(func(context.Context, *http.Request) bool { return refresh.Load() }))
			get(ch, "/a")
			refresh.Store(true)
			assert.Equal(t, "b #2", get(ch, "/a").Body.String())
			refresh.Store(false)
			assert.Equal(t, "b #3", get(ch, "/a").Body.String(), "the replaced copy is not served")
		})
		t.Run("Warm", func(t *testing.T) {
			e := newViewEnv(t, k)
			var cc atomic.Value
			cc.Store("max-age=600")
			h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", cc.Load().(string))
			}}
			ch := e.sharedView(h)
			get(ch, "http://example.com/a")
			cc.Store("max-age=0")
			rep := e.c.Warm(t.Context(), ch, WarmTarget{URL: "http://example.com/a"})
			require.Len(t, rep.Results, 1)
			assert.Equal(t, WarmResult{URL: "http://example.com/a", Status: http.StatusOK, Reason: "expired"}, rep.Results[0])
			cc.Store("max-age=600")
			assert.Equal(t, "b #3", get(ch, "http://example.com/a").Body.String(), "the replaced copy is not served")
		})
	})
}
