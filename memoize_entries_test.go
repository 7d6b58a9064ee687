package caching

import (
	"context"
	"errors"
	"iter"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestMemoizeRefreshSetPeek: Refresh runs the function and stores its
// result, Set stores a result computed elsewhere, Peek reads what is stored
// without calling the function, on every store.
func TestMemoizeRefreshSetPeek(t *testing.T) {
	clock := testutil.NewClock()
	everyBackend(t, Options{Clock: clock.Now}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		var calls atomic.Int64
		m := Memoize(c, "report", func(_ context.Context, month string) (string, error) {
			return month + "#" + string(rune('0'+calls.Add(1))), nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Minute), Tags("sales"))

		_, _, err := m.Peek(ctx, "2026-11")
		assert.ErrorIs(t, err, ErrNotFound, "nothing stored yet")
		assert.Zero(t, calls.Load(), "Peek never calls the function")

		v, err := m.Refresh(ctx, "2026-11")
		require.NoError(t, err)
		assert.Equal(t, "2026-11#1", v)
		got, fresh, err := m.Peek(ctx, "2026-11")
		require.NoError(t, err)
		assert.Equal(t, "2026-11#1", got)
		assert.True(t, fresh)
		v, err = m.Get(ctx, "2026-11")
		require.NoError(t, err)
		assert.Equal(t, "2026-11#1", v, "Get serves what Refresh stored")

		v, err = m.Refresh(ctx, "2026-11")
		require.NoError(t, err)
		assert.Equal(t, "2026-11#2", v, "Refresh runs the function again and replaces the entry")
		v, err = m.Get(ctx, "2026-11")
		require.NoError(t, err)
		assert.Equal(t, "2026-11#2", v)

		require.NoError(t, m.Set(ctx, "2026-10", "computed elsewhere"))
		v, err = m.Get(ctx, "2026-10")
		require.NoError(t, err)
		assert.Equal(t, "computed elsewhere", v)
		assert.Equal(t, int64(2), calls.Load(), "Get of a Set result calls nothing")

		clock.Advance(90 * time.Second) // past the TTL, within the stale window
		got, fresh, err = m.Peek(ctx, "2026-10")
		require.NoError(t, err)
		assert.Equal(t, "computed elsewhere", got)
		assert.False(t, fresh, "a stale entry is returned as not fresh")

		require.NoError(t, m.Set(ctx, "2026-09", "tagged"))
		require.NoError(t, c.InvalidateTags(ctx, "sales"))
		_, _, err = m.Peek(ctx, "2026-09")
		assert.ErrorIs(t, err, ErrNotFound, "Set writes under the function's tags")

		st := c.Stats()
		assert.Equal(t, int64(3), st.Hits, "only the three Gets count")
		assert.Zero(t, st.Misses)
	})
}

// TestMemoizeRefreshDoesNotJoinGet: a Refresh while a Get computes the
// same argument does not wait for that computation, which may have read
// the data before an update the Refresh is called for: it computes on its
// own, and its result is the one stored.
func TestMemoizeRefreshDoesNotJoinGet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var calls atomic.Int64
		m := Memoize(c, "slow", func(_ context.Context, x int) (int, error) {
			n := calls.Add(1)
			if n == 1 {
				<-release
			}
			return x*2 + int(n), nil
		})
		got := make(chan int, 1)
		go func() {
			v, _ := m.Get(t.Context(), 21)
			got <- v
		}()
		synctest.Wait() // the Get computes
		v, err := m.Refresh(t.Context(), 21)
		require.NoError(t, err)
		assert.Equal(t, 44, v, "Refresh computed on its own")
		close(release)
		assert.Equal(t, 43, <-got, "the Get gets what it computed")
		v, err = m.Get(t.Context(), 21)
		require.NoError(t, err)
		assert.Equal(t, 44, v, "the Get's older result was not stored after Refresh's")
		assert.Equal(t, int64(2), calls.Load())
	})
}

// TestMemoizeSetRefusedRemovesEntry: a result StoreIf refuses is not stored
// by Set, and the entry it replaces is removed, since it no longer holds
// the argument's result.
func TestMemoizeSetRefusedRemovesEntry(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	m := Memoize(c, "f", func(_ context.Context, x int) (int, error) { return x, nil },
		StoreIf(func(v int) bool { return v >= 0 }))
	require.NoError(t, m.Set(ctx, 1, 10))
	require.NoError(t, m.Set(ctx, 1, -1))
	_, _, err := m.Peek(ctx, 1)
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestMemoizeSetNotOverwrittenByComputation: a computation that started
// before Set does not overwrite the result Set stored.
func TestMemoizeSetNotOverwrittenByComputation(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	started, release := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "f", func(context.Context, int) (string, error) {
		close(started)
		<-release
		return "old", nil
	})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = m.Get(ctx, 1)
	}()
	<-started
	require.NoError(t, m.Set(ctx, 1, "new"))
	close(release)
	<-done
	v, fresh, err := m.Peek(ctx, 1)
	require.NoError(t, err)
	assert.True(t, fresh)
	assert.Equal(t, "new", v)
}

// TestMemoizedValueRefreshSetPeek: the same three on MemoizedValue.
func TestMemoizedValueRefreshSetPeek(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	var calls atomic.Int64
	v := MemoizeValue(c, "rate", func(context.Context) (int64, error) { return calls.Add(1), nil })
	_, _, err := v.Peek(ctx)
	assert.ErrorIs(t, err, ErrNotFound)
	n, err := v.Refresh(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n)
	require.NoError(t, v.Set(ctx, 99))
	n, fresh, err := v.Peek(ctx)
	require.NoError(t, err)
	assert.True(t, fresh)
	assert.Equal(t, int64(99), n)
	n, err = v.Get(ctx)
	require.NoError(t, err)
	assert.Equal(t, int64(99), n)
}

type withFunc struct {
	Name string
	Next func() int
}

type withHiddenFunc struct {
	Name string
	next func() int
}

func (w withHiddenFunc) Next() int { return w.next() }

type withChanInMap struct {
	Events map[string][]chan int
}

// TestMemoizeRefusesResultsThatCannotBeStored: a function whose result type
// is or holds a func (an iter.Seq), a channel or an unsafe pointer is
// refused when it is memoized, instead of storing the function itself.
func TestMemoizeRefusesResultsThatCannotBeStored(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	for name, memoize := range map[string]func(){
		"func":     func() { Memoize(c, "f", func(context.Context, int) (func() int, error) { return nil, nil }) },
		"iter.Seq": func() { Memoize(c, "f", func(context.Context, int) (iter.Seq[int], error) { return nil, nil }) },
		"chan":     func() { Memoize(c, "f", func(context.Context, int) (<-chan int, error) { return nil, nil }) },
		"field":    func() { Memoize(c, "f", func(context.Context, int) (*withFunc, error) { return nil, nil }) },
		"map of chans": func() {
			Memoize(c, "f", func(context.Context, int) (withChanInMap, error) { return withChanInMap{}, nil })
		},
		"value": func() { MemoizeValue(c, "f", func(context.Context) ([]func(), error) { return nil, nil }) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				err, _ := recover().(error)
				require.Error(t, err, "no panic")
				assert.ErrorIs(t, err, ErrInvalidOption)
				assert.Contains(t, err.Error(), "result")
			}()
			memoize()
		})
	}
	assert.NotPanics(t, func() {
		Memoize(c, "g", func(context.Context, int) (withHiddenFunc, error) { return withHiddenFunc{}, nil })
		Memoize(c, "h", func(context.Context, int) (any, error) { return nil, nil })
		Memoize(c, "i", func(context.Context, int) (error, error) { return nil, nil })
	}, "unexported fields and interfaces are not looked into")
}

// TestMemoizePeekUndecodable: an entry that does not decode as the result
// type is a miss for Peek.
func TestMemoizePeekUndecodable(t *testing.T) {
	c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
	defer c.Close()
	ctx := t.Context()
	a := Memoize(c, "f", func(context.Context, int) (string, error) { return "text", nil })
	b := Memoize(c, "f", func(context.Context, int) (int, error) { return 0, nil })
	_, err := a.Get(ctx, 1)
	require.NoError(t, err)
	_, _, err = b.Peek(ctx, 1)
	assert.ErrorIs(t, err, ErrNotFound)
	assert.False(t, errors.Is(err, ErrClosed))
}

// TestMemoizePeekFollowsStaleIf: Peek reports a result that StaleIf
// declares stale as not fresh, as Get would treat it.
func TestMemoizePeekFollowsStaleIf(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := t.Context()
	var current atomic.Int64
	m := Memoize(c, "f", func(context.Context, int) (int64, error) { return current.Load(), nil },
		StaleIf(func(v int64) bool { return v != current.Load() }))
	_, err := m.Get(ctx, 1)
	require.NoError(t, err)
	_, fresh, err := m.Peek(ctx, 1)
	require.NoError(t, err)
	assert.True(t, fresh)
	current.Store(2)
	v, fresh, err := m.Peek(ctx, 1)
	require.NoError(t, err)
	assert.Zero(t, v)
	assert.False(t, fresh, "declared stale")
}
