package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshThenFailedSetRemovesTheOldEntry: a Refresh computes
// after an update; a Set of the same key is made meanwhile (here with a
// request context already cancelled: a client gone; a Redis refusing the
// write under noeviction, or a value over the backend's limit do the same)
// and fails, storing nothing. Set superseded the Refresh, so the Refresh
// stores nothing either, and returns its new result with no error. Nobody
// settles the entry: the result of the data before the update is served
// on, until its TTL, though Refresh reported success.
func TestMemoizeRefreshThenFailedSetRemovesTheOldEntry(t *testing.T) {
	c, _, _ := onRedis(t)
	ctx := context.Background()
	var data atomic.Value
	data.Store("old")
	var calls atomic.Int64
	inFirst, releaseFirst := make(chan struct{}), make(chan struct{})
	m := Memoize(c, "review-failed-set", func(_ context.Context, _ int) (string, error) {
		v := data.Load().(string)
		if calls.Add(1) == 2 { // the Refresh's
			close(inFirst)
			<-releaseFirst
		}
		return v, nil
	}, TTL(time.Hour))
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, "old", v)

	data.Store("new") // the update
	refreshed := make(chan error, 1)
	go func() {
		v, err := m.Refresh(ctx, 1)
		if err == nil && v != "new" {
			t.Errorf("Refresh returned %q", v)
		}
		refreshed <- err
	}()
	<-inFirst
	gone, cancel := context.WithCancel(ctx)
	cancel()
	require.Error(t, m.Set(gone, 1, "set"), "the Set fails, storing nothing")
	close(releaseFirst)
	require.NoError(t, <-refreshed, "Refresh reports success")

	got, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.NotEqual(t, "old", got, "Refresh returned success after the update, yet Get serves the result of the data before it")
}
