package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/require"
)

// joinLoad starts a GetOrSet[string] of key that loads "hello", then a
// GetOrSet[T] of key with load, calls meanwhile (if not nil) and lets the
// first load return; it returns the second caller's result. synctest.Wait
// makes sure the second caller joined the first one's load before that
// load returns, with no sleep.
func joinLoad[T any](t *testing.T, c *Cache, key string, load func(context.Context) (T, error), meanwhile func(), opts ...SetOption) (T, error) {
	ctx := t.Context()
	release, first := make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := GetOrSet(ctx, c, key, time.Minute, func(context.Context) (string, error) {
			<-release
			return "hello", nil
		}, opts...)
		first <- err
	}()
	synctest.Wait() // the first caller loads
	type result struct {
		v   T
		err error
	}
	second := make(chan result, 1)
	go func() {
		v, err := GetOrSet(ctx, c, key, time.Minute, load, opts...)
		second <- result{v, err}
	}()
	synctest.Wait() // the second caller waits for the first one's load
	if meanwhile != nil {
		meanwhile()
	}
	close(release)
	require.NoError(t, <-first)
	r := <-second
	return r.v, r.err
}

// TestGetOrSetOtherTypeNoSilentZero: a GetOrSet[int] that joins a
// concurrent GetOrSet[string] of the same key used to return 0 and a nil
// error; then the decode error of the stored "hello" read as an int. Now
// it gets what it would have got had it come just after: "hello" does not
// decode as an int, a miss, so it loads and stores its value over it.
func TestGetOrSetOtherTypeNoSilentZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var loads atomic.Int64
		n, err := joinLoad(t, c, "k", func(context.Context) (int, error) {
			loads.Add(1)
			return 42, nil
		}, nil)
		require.NoError(t, err)
		require.Equal(t, 42, n)
		require.EqualValues(t, 1, loads.Load(), "the int caller loaded over the stored string")
		n, err = GetAs[int](t.Context(), c, "k")
		require.NoError(t, err)
		require.Equal(t, 42, n, "and stored its value")
		require.EqualValues(t, 1, c.Stats().Errors, "the decode error, counted")
	})
}

// TestGetOrSetOtherTypeDecodes: a caller whose type can hold the stored
// value gets it, as GetAs would give it, and does not load.
func TestGetOrSetOtherTypeDecodes(t *testing.T) {
	type greeting string
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		g, err := joinLoad(t, c, "k", func(context.Context) (greeting, error) {
			t.Error("the joined caller loaded")
			return "bye", nil
		}, nil)
		require.NoError(t, err)
		require.Equal(t, greeting("hello"), g)
	})
}

// TestGetOrSetOtherTypeLoadsWhenGone: when the value the joined load stored
// is no longer there to read (here, invalidated while it loaded), the
// caller of the other type runs its own load, as GetOrSet does on a miss.
func TestGetOrSetOtherTypeLoadsWhenGone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ctx := t.Context()
		n, err := joinLoad(t, c, "k", func(context.Context) (int, error) {
			return 42, nil
		}, func() { require.NoError(t, c.InvalidateTags(ctx, "t")) }, Tags("t"))
		require.NoError(t, err)
		require.Equal(t, 42, n)
		n, err = GetAs[int](ctx, c, "k")
		require.NoError(t, err)
		require.Equal(t, 42, n, "its value is stored")
	})
}
