package caching

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewInvalidOptionLeaksNothing: a New that fails on an
// invalid option leaves no goroutine behind (the default store it made is
// closed), however many times it is called.
func TestNewInvalidOptionLeaksNothing(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 50 {
		_, err := New(&Options{Breaker: BreakerOptions{Cooldown: -time.Second}})
		require.ErrorIs(t, err, ErrInvalidOption)
	}
	var after int
	for range 100 { // goroutines told to stop may take a moment to return
		if after = runtime.NumGoroutine(); after < before+50 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	assert.Less(t, after, before+50, "goroutines: %d before, %d after 50 failed News", before, after)
}

// TestWarmAfterClose: Warm on a closed Cache runs no handler, and
// every target fails with the context's error.
func TestWarmAfterClose(t *testing.T) {
	for range 20 { // the handler ran on some tries only
		c := Must(nil)
		var runs atomic.Int64
		h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Write([]byte("page"))
		}))
		require.NoError(t, c.Close())
		rep := c.Warm(t.Context(), h, WarmTarget{URL: "http://a.example/1"}, WarmTarget{URL: "http://a.example/2"})
		require.Zero(t, runs.Load(), "a handler ran after Close")
		require.Equal(t, 2, rep.Failed, "%+v", rep)
		for _, res := range rep.Results {
			require.True(t, errors.Is(res.Err, context.Canceled), "%v", res.Err)
		}
	}
}

// TestPeekAfterClose: Peek on a closed Cache returns an error
// wrapping ErrClosed, as every later call does, not a miss.
func TestPeekAfterClose(t *testing.T) {
	c := Must(nil)
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil))
	_, _, err := c.Peek(httptest.NewRequest(http.MethodGet, "/", nil))
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, _, err = c.Peek(httptest.NewRequest(http.MethodGet, "/", nil))
	assert.ErrorIs(t, err, ErrClosed)
	assert.NotErrorIs(t, err, ErrNotFound)
}
