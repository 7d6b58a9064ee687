package redisstore_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// realStore returns a Store on the real Redis under a prefix of its own,
// cleared when the test ends.
func realStore(t *testing.T) *redisstore.Store {
	t.Helper()
	addr := testutil.RedisAddr(t)
	url := "redis://" + addr + "/0?" + testutil.SlowRedisQuery
	rs := redisstore.Must(redisstore.Options{URL: url, Prefix: uniquePrefix(t)})
	t.Cleanup(func() { clearPrefix(t, url, rs.Prefix()) })
	return rs
}

// TestIncrOverflowIsNotInteger: Redis refuses an INCRBY past the int64
// range ("ERR increment or decrement would overflow"); the Store says
// ErrNotInteger, as the other backends do, and a Cache does not take the
// answer for its backend failing: five overflows leave its circuit breaker
// closed for everyone else.
func TestIncrOverflowIsNotInteger(t *testing.T) {
	t.Parallel()
	rs := realStore(t)
	ctx := context.Background()
	require.NoError(t, rs.Set(ctx, "n", []byte(strconv.FormatInt(math.MaxInt64, 10)), 0))
	if _, err := rs.Incr(ctx, "n", 1); !errors.Is(err, backend.ErrNotInteger) {
		t.Errorf("Incr past MaxInt64: %v, want an error wrapping backend.ErrNotInteger", err)
	}
	require.NoError(t, rs.Set(ctx, "m", []byte(strconv.FormatInt(math.MinInt64, 10)), 0))
	if _, err := rs.Incr(ctx, "m", -1); !errors.Is(err, backend.ErrNotInteger) {
		t.Errorf("Incr past MinInt64: %v, want an error wrapping backend.ErrNotInteger", err)
	}
	v, err := rs.Get(ctx, "n")
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(math.MaxInt64, 10), string(v), "the value is left as it was")

	c := caching.Must(&caching.Options{Backend: rs})
	defer c.Close()
	_, err = c.Incr(ctx, "big", math.MaxInt64)
	require.NoError(t, err)
	for range 5 {
		_, err = c.Incr(ctx, "big", 1)
		assert.ErrorIs(t, err, backend.ErrNotInteger)
	}
	if _, err := c.Get(ctx, "other"); errors.Is(err, caching.ErrUnavailable) {
		t.Fatalf("five counter overflows opened the breaker: %v", err)
	}
	assert.Equal(t, "closed", c.Stats().Breaker, "breaker state")
}

// TestGetOfAnotherTypeIsAMiss: a key of another Redis type under the
// prefix (a list, not an entry) reads as a miss, as MGET reads it, not as
// the server failing: five reads of it leave a Cache's circuit breaker
// closed, and a Set replaces it.
func TestGetOfAnotherTypeIsAMiss(t *testing.T) {
	t.Parallel()
	rs := realStore(t)
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	defer admin.Close()
	require.NoError(t, admin.RPush(ctx, rs.Prefix()+"list", "x").Err())

	_, err := rs.Get(ctx, "list")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	vals, err := rs.GetMany(ctx, []string{"list"})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil}, vals, "GetMany reads it as a miss too")

	c := caching.Must(&caching.Options{Backend: rs})
	defer c.Close()
	for range 5 {
		_, err = c.Get(ctx, "list")
		assert.ErrorIs(t, err, caching.ErrNotFound)
	}
	if _, err := c.Get(ctx, "other"); errors.Is(err, caching.ErrUnavailable) {
		t.Fatalf("five reads of a list opened the breaker: %v", err)
	}
	require.NoError(t, c.Set(ctx, "list", []byte("v"), 0))
	got, err := c.Get(ctx, "list")
	require.NoError(t, err)
	assert.Equal(t, "v", string(got))
}
