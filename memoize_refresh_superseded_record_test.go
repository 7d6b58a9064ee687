package caching

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshSupersededEndedBeforeOtherBegan: as
// TestMemoizeRefreshSupersededEndedThenFailed, but the first Refresh
// returns (its new result, not stored: the second superseded it) while
// the second has superseded it and not yet begun computing (its ArgTags
// reads a database), so that no computation of the key is in flight for
// that while. The second's fn then fails: it still removes the entry of
// the data before the update, which the first Refresh's caller was told
// was replaced, rather than leave it served until its TTL.
func TestMemoizeRefreshSupersededEndedBeforeOtherBegan(t *testing.T) {
	c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	var data atomic.Value
	data.Store("old")
	var calls atomic.Int64
	var blockTags atomic.Bool
	inTags, releaseTags := make(chan struct{}), make(chan struct{})
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "refresh-superseded-record", func(_ context.Context, _ int) (string, error) {
		switch calls.Add(1) {
		case 2: // the first Refresh's: the new data
			v := data.Load().(string)
			close(inFirst)
			<-releaseFirst
			return v, nil
		case 3: // the second's
			return "", errors.New("db: timeout")
		}
		return data.Load().(string), nil
	}, TTL(time.Hour), ArgTags(func(int) []string {
		if blockTags.CompareAndSwap(true, false) {
			close(inTags)
			<-releaseTags
		}
		return []string{"t"}
	}))
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "old", v)

	data.Store("new") // the update
	type result struct {
		v   string
		err error
	}
	first := make(chan result, 1)
	go func() { v, err := m.Refresh(ctx, 1); first <- result{v, err} }()
	<-inFirst // the first computes
	blockTags.Store(true)
	second := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); second <- err }()
	<-inTags // the second has superseded the first, and not begun computing
	close(releaseFirst)
	f := <-first
	require.NoError(t, f.err, "the first Refresh reports success")
	require.Equal(t, "new", f.v)
	close(releaseTags)
	require.Error(t, <-second, "the second's fn failed")

	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "new", got, "the result of the data before the update served after a successful Refresh")
}

// TestMemoizeForcedGetSupersededEndedBeforeOtherBegan is
// TestMemoizeRefreshSupersededEndedBeforeOtherBegan with a Get that
// RefreshIf forces as the second replacement.
func TestMemoizeForcedGetSupersededEndedBeforeOtherBegan(t *testing.T) {
	c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	var data atomic.Value
	data.Store("old")
	var calls atomic.Int64
	var blockTags, force atomic.Bool
	inTags, releaseTags := make(chan struct{}), make(chan struct{})
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "forced-superseded-record", func(_ context.Context, _ int) (string, error) {
		switch calls.Add(1) {
		case 2: // the Refresh's: the new data
			v := data.Load().(string)
			close(inFirst)
			<-releaseFirst
			return v, nil
		case 3: // the forced Get's
			return "", errors.New("db: timeout")
		}
		return data.Load().(string), nil
	}, TTL(time.Hour), ArgTags(func(int) []string {
		if blockTags.CompareAndSwap(true, false) {
			close(inTags)
			<-releaseTags
		}
		return []string{"t"}
	}), RefreshIf(func(context.Context, int) bool { return force.Load() }))
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "old", v)

	data.Store("new") // the update
	type result struct {
		v   string
		err error
	}
	first := make(chan result, 1)
	go func() { v, err := m.Refresh(ctx, 1); first <- result{v, err} }()
	<-inFirst // the Refresh computes
	force.Store(true)
	blockTags.Store(true)
	second := make(chan error, 1)
	go func() { _, err := m.Get(ctx, 1); second <- err }()
	<-inTags // the forced Get has superseded the Refresh, and not begun computing
	force.Store(false)
	close(releaseFirst)
	f := <-first
	require.NoError(t, f.err, "the Refresh reports success")
	require.Equal(t, "new", f.v)
	close(releaseTags)
	require.Error(t, <-second, "the forced Get's fn failed")

	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "new", got, "the result of the data before the update served after a successful Refresh")
}
