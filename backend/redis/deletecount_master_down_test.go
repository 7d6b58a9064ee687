package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// Regression: on a Cluster with one master down, DeleteCount deleted the
// keys of the masters that answered and returned 0 with its error, as if
// none had been: it now returns the count of those deleted with the error,
// as DeleteCount of several memcached servers does.
func TestClusterDeleteCountCountsPastAStoppedMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "deletecount-down"})
	t.Cleanup(func() { _ = b.Close() })
	ctx := context.Background()
	keys := c.setOnEach(t, b, 3)
	absent := c.tagOn(t, 1) + "absent" // on a live master, never set
	long := c.overBulkLen(t)
	_, err := b.DeleteCount(ctx, long)
	require.ErrorIs(t, err, backend.ErrKeyRefused, "the Store has read the servers' limit")
	c.nodes[2].Stop()

	n, err := b.DeleteCount(ctx, append(keys, absent)...)
	require.Error(t, err, "a master down")
	assert.False(t, backend.Neutral(err), "the failure of a server down is no neutral one: %v", err)
	assert.Equal(t, 2, n, "the keys the live masters deleted")
	got, err := b.GetMany(ctx, keys[:2])
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil, nil}, got, "deleted on the live masters")

	// With a key refused too: the same count, and the real failure's error
	// rather than the refusal's.
	for _, k := range keys[:2] {
		require.NoError(t, b.Set(ctx, k, []byte("v"), time.Minute))
	}
	n, err = b.DeleteCount(ctx, keys[2], long, keys[0], keys[1])
	require.Error(t, err, "a master down")
	assert.False(t, backend.Neutral(err), "the failure of a server down is no neutral one: %v", err)
	assert.Equal(t, 2, n, "the keys the live masters deleted")
}
