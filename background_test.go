package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBackgroundRefreshEndsWithClose: a background refresh (of a view and of
// a memoized function) that waits on its context ends when the Cache is
// closed, and none starts afterwards.
func TestBackgroundRefreshEndsWithClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		var viewErr, memoErr atomic.Value
		var calls atomic.Int64
		h := c.Cached(time.Minute, StaleWhileRevalidate(time.Hour))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) > 1 {
				<-r.Context().Done()
				viewErr.Store(r.Context().Err())
			}
			fmt.Fprint(w, "page")
		}))
		m := Memoize(c, "f", func(ctx context.Context, x int) (int, error) {
			if calls.Add(1) > 2 {
				<-ctx.Done()
				memoErr.Store(ctx.Err())
				return 0, ctx.Err()
			}
			return x, nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
		get(h, "/")
		_, err := m.Get(t.Context(), 1)
		require.NoError(t, err)
		time.Sleep(2 * time.Minute)
		get(h, "/")
		_, err = m.Get(t.Context(), 1)
		require.NoError(t, err)
		synctest.Wait() // both refreshes wait on their contexts
		assert.Nil(t, viewErr.Load())
		require.NoError(t, c.Close())
		c.wait()
		synctest.Wait()
		assert.ErrorIs(t, viewErr.Load().(error), context.Canceled)
		assert.ErrorIs(t, memoErr.Load().(error), context.Canceled)
		assert.False(t, c.goBackground(func() { t.Error("ran after Close") }))
	})
}

type ctxKey struct{}

// TestBackgroundRefreshRequest: a background refresh runs with the
// request's context values, URL, host and header fields, but not the
// client's cancellation, nor the fields that ask for its own response
// (validators, Range) or carry its credentials. (A request with a Cookie
// refreshes an entry that varies on it: see refreshable.)
func TestBackgroundRefreshRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int64
		seen := make(chan *http.Request, 1)
		h := c.Cached(time.Minute, StaleWhileRevalidate(time.Hour))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) > 1 {
				seen <- r
			}
			w.Header().Set("Vary", "Accept-Language, Cookie")
			fmt.Fprint(w, "page")
		}))
		send := func() {
			ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "request-id"))
			r := httptest.NewRequestWithContext(ctx, http.MethodHead, "http://shop.example/p?x=1", nil)
			r.Header.Set("Accept-Language", "fr")
			r.Header.Set("Cookie", "theme=dark")
			r.Header.Set("X-Forwarded-Proto", "https")
			r.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
			r.Header.Set("If-None-Match", `"x"`)
			r.Header.Set("Range", "bytes=0-1")
			h.ServeHTTP(httptest.NewRecorder(), r)
			cancel() // the client leaves once answered
		}
		get(h, "http://shop.example/p?x=1", "Accept-Language", "fr", "Cookie", "theme=dark") // a GET stores
		time.Sleep(2 * time.Minute)
		send() // a stale HEAD starts the refresh
		r := <-seen
		assert.Equal(t, http.MethodGet, r.Method, "a refresh is a GET")
		assert.Equal(t, "shop.example", r.Host)
		assert.Equal(t, "/p", r.URL.Path)
		assert.Equal(t, "x=1", r.URL.RawQuery)
		assert.Equal(t, "request-id", r.Context().Value(ctxKey{}))
		assert.NoError(t, r.Context().Err(), "not the client's cancellation")
		assert.Equal(t, "fr", r.Header.Get("Accept-Language"), "the Vary header")
		assert.Equal(t, "theme=dark", r.Header.Get("Cookie"), "the Vary header: the client's variant")
		assert.Equal(t, "https", r.Header.Get("X-Forwarded-Proto"))
		for _, name := range []string{"Proxy-Authorization", "If-None-Match", "Range"} {
			assert.Empty(t, r.Header.Values(name), name)
		}
	})
}

// TestDetachedContext: the context of background work keeps the values,
// not the cancellation, of the one it came from, and a context derived from
// it is cancelled with the Cache.
func TestDetachedContext(t *testing.T) {
	c := Must(nil)
	parent, cancel := context.WithCancel(context.WithValue(t.Context(), ctxKey{}, 7))
	bg := c.detach(parent)
	cancel()
	assert.NoError(t, bg.Err())
	assert.Equal(t, 7, bg.Value(ctxKey{}))
	child, stop := context.WithTimeout(bg, time.Hour)
	defer stop()
	require.NoError(t, c.Close())
	<-child.Done()
	assert.True(t, errors.Is(child.Err(), context.Canceled))
}
