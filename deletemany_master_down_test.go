package caching

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: on a Redis Cluster with one master down, DeleteMany deleted
// the keys of the masters that answered, and the backend counted them, but
// it returned 0 with its error, as if none had been deleted. It now returns
// the backend's count with the error.
func TestDeleteManyCountsPastAStoppedClusterMaster(t *testing.T) {
	t.Parallel()
	rc := testutil.StartRedisCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: rc.URL(""), Prefix: "deletemany-down"})
	c, err := New(&Options{Backend: b, Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	keys := make([]string, 30)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		require.NoError(t, c.Set(ctx, keys[i], []byte("v"), time.Hour))
	}
	live := 0 // the keys on the masters that stay up: this test's only keys there
	for _, a := range rc.Admin[:2] {
		n, err := a.DBSize(ctx).Result()
		require.NoError(t, err)
		live += int(n)
	}
	require.Positive(t, live)
	require.Less(t, live, len(keys), "some keys are on the master to stop")
	rc.Nodes[2].Stop()

	n, err := c.DeleteMany(ctx, keys...)
	require.Error(t, err, "a master down")
	assert.Equal(t, live, n, "the keys the live masters deleted")
	for _, a := range rc.Admin[:2] {
		left, err := a.DBSize(ctx).Result()
		require.NoError(t, err)
		assert.Zero(t, left, "deleted on the live masters")
	}
}

// deleteRefused is a remote backend without DeleteCount whose Delete fails
// (its server down for writes) while its reads answer.
type deleteRefused struct{ *remote }

func (d deleteRefused) Delete(context.Context, ...string) error { return errDown }

// TestDeleteManyFailedDeleteCountsNoneWithoutDeleteCounter: on a backend
// without DeleteCount, DeleteMany counts the keys a read finds first: when
// the delete then fails, none of them is known deleted, and the count it
// returns with the error is 0, not the keys found.
func TestDeleteManyFailedDeleteCountsNoneWithoutDeleteCounter(t *testing.T) {
	t.Parallel()
	c, err := New(&Options{Backend: deleteRefused{&remote{Backend: newSimple(t, nil)}}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "a", []byte("v"), time.Hour))
	n, err := c.DeleteMany(ctx, "a", "b")
	require.ErrorIs(t, err, errDown)
	assert.Zero(t, n, "the key found was not deleted")
}
