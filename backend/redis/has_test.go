package redisstore_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// Has agrees with Get about a key of another Redis type under the prefix (a
// list, not an entry of the Store): Get reads it as a miss, so Has says it
// is absent. Before the fix Has sent EXISTS and said true for a key whose
// Get missed.
func TestHasOfAnotherTypeIsFalse(t *testing.T) {
	t.Parallel()
	rs := realStore(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	defer admin.Close()
	require.NoError(t, admin.RPush(ctx, rs.Prefix()+"list", "x").Err())

	_, err := rs.Get(ctx, "list")
	require.ErrorIs(t, err, backend.ErrNotFound)
	ok, err := rs.Has(ctx, "list")
	require.NoError(t, err)
	assert.False(t, ok, "Has of a key Get misses")

	require.NoError(t, rs.Set(ctx, "k", []byte{}, 0))
	ok, err = rs.Has(ctx, "k")
	require.NoError(t, err)
	assert.True(t, ok, "an empty value is an entry")
	ok, err = rs.Has(ctx, "absent")
	require.NoError(t, err)
	assert.False(t, ok)
}
