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

// TestMemoizeRefreshStoredKeptByOtherFailure: two jobs refresh one
// argument at once. The first called (A) is slow to begin (its ArgTags
// reads a database), so the second (B) supersedes nothing of A's, and
// begins computing first; A begins while B computes, and A's fn then
// fails, after B stored the result of the updated data. B's stored
// result is a's entry, and A, which superseded no replacement that went
// unstored, must not remove it: a Get after both must be a hit, not call
// fn again (one extra computation a user observes).
func TestMemoizeRefreshStoredKeptByOtherFailure(t *testing.T) {
	c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	var data atomic.Value
	data.Store("old")
	var calls atomic.Int64
	var blockTags atomic.Bool
	inTags, releaseTags := make(chan struct{}), make(chan struct{})
	inB, releaseB := make(chan struct{}), make(chan struct{})
	inA, bDone := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "refresh-stored-kept", func(_ context.Context, _ int) (string, error) {
		switch calls.Add(1) {
		case 2: // B's: the new data
			v := data.Load().(string)
			close(inB)
			<-releaseB
			return v, nil
		case 3: // A's: fails once B has returned
			close(inA)
			<-bDone
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
	blockTags.Store(true)
	aErr := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); aErr <- err }()
	<-inTags // A has superseded, and not yet begun computing

	type result struct {
		v   string
		err error
	}
	bRes := make(chan result, 1)
	go func() { v, err := m.Refresh(ctx, 1); bRes <- result{v, err} }()
	<-inB // B computes
	close(releaseTags)
	<-inA // A computes too, begun while B was in flight
	close(releaseB)
	b := <-bRes
	require.NoError(t, b.err)
	require.Equal(t, "new", b.v)
	close(bDone)
	require.Error(t, <-aErr, "A's fn failed")

	peek, _, _ := m.Peek(ctx, 1)
	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "new", got)
	assert.Equal(t, "new", peek, "B's stored result is kept")
	assert.Equal(t, int64(3), calls.Load(), "fn calls: a Get after B stored its result computed again")
}

// TestMemoizeRefreshSupersededEndedThenFailed: as
// TestMemoizeRefreshSupersededThenFailed, but the superseded Refresh
// returns (its new result, not stored) before the second one's fn fails:
// the second still removes the entry of the data before the update.
func TestMemoizeRefreshSupersededEndedThenFailed(t *testing.T) {
	c, err := New(&Options{Backend: newSimple(t, nil), Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	ctx := context.Background()
	var data atomic.Value
	data.Store("old")
	var calls atomic.Int64
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	inSecond, releaseSecond := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "refresh-superseded-ended", func(_ context.Context, _ int) (string, error) {
		switch calls.Add(1) {
		case 2:
			v := data.Load().(string)
			close(inFirst)
			<-releaseFirst
			return v, nil
		case 3:
			close(inSecond)
			<-releaseSecond
			return "", errors.New("db: timeout")
		}
		return data.Load().(string), nil
	}, TTL(time.Hour))
	_, err = m.Get(ctx, 1)
	require.NoError(t, err)
	data.Store("new")
	first := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); first <- err }()
	<-inFirst
	second := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); second <- err }()
	<-inSecond
	close(releaseFirst)
	require.NoError(t, <-first, "the first Refresh reports success")
	close(releaseSecond)
	require.Error(t, <-second)
	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "new", got, "the result of the data before the update served after a successful Refresh")
}
