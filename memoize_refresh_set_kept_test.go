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

// TestMemoizeRefreshFailedKeepsSet: a Refresh (the first) computes after
// an update; a second Refresh supersedes it and is slow to begin (its
// ArgTags reads a database); a Set of a result computed elsewhere is made
// meanwhile, and the second begins computing after it. The first then
// returns its result (not stored: superseded) and the second's fn fails.
// What the first was owed is settled by Set's store, made after the first
// was superseded: the second must not remove Set's result, and a Get after
// all of them returns it without calling fn.
func TestMemoizeRefreshFailedKeepsSet(t *testing.T) {
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
	inSecond, releaseSecond := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "refresh-failed-keeps-set", func(_ context.Context, _ int) (string, error) {
		switch calls.Add(1) {
		case 2: // the first Refresh's: the new data
			v := data.Load().(string)
			close(inFirst)
			<-releaseFirst
			return v, nil
		case 3: // the second's: fails once the first has returned
			close(inSecond)
			<-releaseSecond
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
	first := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); first <- err }()
	<-inFirst // the first computes
	blockTags.Store(true)
	second := make(chan error, 1)
	go func() { _, err := m.Refresh(ctx, 1); second <- err }()
	<-inTags // the second has superseded the first, and not begun computing
	require.NoError(t, m.Set(ctx, 1, "set"))
	close(releaseTags)
	<-inSecond // the second computes, begun after Set
	close(releaseFirst)
	require.NoError(t, <-first, "the first Refresh reports success")
	close(releaseSecond)
	require.Error(t, <-second, "the second's fn failed")

	peek, _, err := m.Peek(ctx, 1)
	require.NoError(t, err, "Set's result is kept")
	assert.Equal(t, "set", peek)
	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, "set", got)
	assert.Equal(t, int64(3), calls.Load(), "fn calls: a Get after Set stored its result computed again")
}
