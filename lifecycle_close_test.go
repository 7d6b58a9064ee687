package caching

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
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

// TestFailOpenCallsPassThroughAfterClose pins Close's doc: after Close the
// calls that fail open pass through rather than return ErrClosed. Fragment
// and FragmentFunc render anew (not the fragment stored before Close) and
// return their output with a nil error, Memoize runs its function, and a
// view runs its handler; none of them stores anything.
func TestFailOpenCallsPassThroughAfterClose(t *testing.T) {
	ctx := context.Background()
	c := Must(nil)
	var renders, calls, runs atomic.Int64
	render := func(w io.Writer) error {
		renders.Add(1)
		_, err := fmt.Fprintf(w, "<p>%d</p>", renders.Load())
		return err
	}
	tmpl := template.Must(template.New("page").Parse(`{{define "f"}}<p>{{.}}</p>{{end}}`))
	fragFunc := c.FragmentFunc(tmpl, time.Minute)
	memo := Memoize(c, "close", func(_ context.Context, a int) (int, error) {
		calls.Add(1)
		return a * 2, nil
	})
	view := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		runs.Add(1)
		w.Write([]byte("page"))
	}))
	serve := func() { view.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) }

	html, err := c.Fragment(ctx, "f", time.Minute, render)
	require.NoError(t, err)
	require.Equal(t, template.HTML("<p>1</p>"), html)
	_, err = fragFunc("f", "x")
	require.NoError(t, err)
	_, err = memo.Get(ctx, 3)
	require.NoError(t, err)
	serve()
	require.NoError(t, c.Close())

	for want := int64(2); want <= 3; want++ { // each call renders: nothing served, nothing stored
		html, err = c.Fragment(ctx, "f", time.Minute, render)
		require.NoError(t, err, "Fragment after Close")
		assert.Equal(t, template.HTML(fmt.Sprintf("<p>%d</p>", want)), html)
	}
	html, err = fragFunc("f", "y")
	require.NoError(t, err, "FragmentFunc after Close")
	assert.Equal(t, template.HTML("<p>y</p>"), html)
	for want := int64(2); want <= 3; want++ {
		v, err := memo.Get(ctx, 3)
		require.NoError(t, err, "Memoize after Close")
		assert.Equal(t, 6, v)
		assert.Equal(t, want, calls.Load(), "Memoize after Close did not run its function")
		serve()
		assert.Equal(t, want, runs.Load(), "a view after Close did not run its handler")
	}
	_, err = c.Get(ctx, "f")
	assert.ErrorIs(t, err, ErrClosed, "the direct API after Close")
}
