package caching

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// startMaxmemoryRedis starts a Redis of 8 MiB maxmemory under policy and
// returns a Cache on it.
func startMaxmemoryRedis(t *testing.T, policy string) *Cache {
	t.Helper()
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--maxmemory", "8mb", "--maxmemory-policy", policy}
	})
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + p.Addr, Prefix: "oom"})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A Redis with maxmemory refuses a value larger than it can make room for
// ("OOM command not allowed when used memory > 'maxmemory'"; under
// noeviction, any write once it is full), and under allkeys-* evicts every
// other key first: the Redis store refuses a value over a third of maxmemory
// before sending it. The refusal is the item's, as memcached's "out of
// memory" is (TestMemcachedOutOfMemorySetRefusesTheItem): the error wraps
// backend.ErrValueTooLarge, the value the refused Set was to replace is
// gone, the other keys stay, and a few such Sets (a client making large
// responses) do not open the breaker for every other caller.
func TestRedisOutOfMemorySetRefusesTheItem(t *testing.T) {
	for _, policy := range []string{"allkeys-lru", "noeviction"} {
		t.Run(policy, func(t *testing.T) {
			ctx := context.Background()
			c := startMaxmemoryRedis(t, policy)
			require.NoError(t, c.Set(ctx, "k", []byte("old"), time.Hour))
			require.NoError(t, c.Set(ctx, "small", []byte("s"), time.Hour))

			big := bytes.Repeat([]byte("x"), 16<<20) // over maxmemory
			err := c.Set(ctx, "k", big, time.Hour)
			require.ErrorIs(t, err, backend.ErrValueTooLarge, "the server's OOM refusal of the item")
			require.Contains(t, err.Error(), "maxmemory")
			_, err = c.Get(ctx, "k")
			require.ErrorIs(t, err, ErrNotFound, "the value the refused Set was to replace is still readable")

			for i := range 8 {
				err := c.Set(ctx, "big"+strconv.Itoa(i), big, time.Hour)
				require.ErrorIs(t, err, backend.ErrValueTooLarge, "Set %d", i)
			}
			got, err := c.Get(ctx, "small")
			require.NoError(t, err, "after large Sets were refused, a read fails (the breaker opened) or misses (Redis evicted every key for them)")
			require.Equal(t, "s", string(got))
			require.Equal(t, "closed", c.Stats().Breaker)
		})
	}
}

// A Redis under noeviction that is simply full refuses every write, small
// ones too, with OOM. The Cache stays sane: reads and deletes keep working,
// each write is refused (ErrValueTooLarge, without opening the breaker;
// Incr's too),
// and a view whose store is refused serves its response uncached and counts
// the refusal in Stats.Errors, where an operator sees it.
func TestRedisFullUnderNoevictionRefusesWritesKeepsReads(t *testing.T) {
	ctx := context.Background()
	c := startMaxmemoryRedis(t, "noeviction")
	require.NoError(t, c.Set(ctx, "kept", []byte("v"), time.Hour))
	require.NoError(t, c.Set(ctx, "gone", []byte("v"), time.Hour))

	// Fill it with ordinary small entries until it refuses one.
	v := bytes.Repeat([]byte("y"), 4000)
	var err error
	for i := 0; err == nil; i++ {
		require.Less(t, i, 10000, "Redis never refused a write under 8 MiB of maxmemory")
		err = c.Set(ctx, "fill"+strconv.Itoa(i), v, time.Hour)
	}
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "a small write refused by a full Redis")

	for i := range 10 {
		err := c.Set(ctx, "small"+strconv.Itoa(i), []byte("s"), time.Hour)
		require.ErrorIs(t, err, backend.ErrValueTooLarge, "Set %d", i)
	}
	got, err := c.Get(ctx, "kept")
	require.NoError(t, err, "a read from a full Redis")
	require.Equal(t, "v", string(got))
	require.NoError(t, c.Delete(ctx, "gone"))
	_, err = c.Get(ctx, "gone")
	require.ErrorIs(t, err, ErrNotFound)
	require.Equal(t, "closed", c.Stats().Breaker, "refused writes opened the breaker")
	for i := range 10 {
		_, err := c.Incr(ctx, "counter", 1)
		require.ErrorIs(t, err, backend.ErrValueTooLarge, "Incr %d", i)
	}
	require.Equal(t, "closed", c.Stats().Breaker, "refused increments opened the breaker")

	before := c.Stats().Errors
	h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "hello")
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/page", nil))
	require.Equal(t, 200, rec.Code)
	require.Equal(t, "hello", rec.Body.String())
	require.Greater(t, c.Stats().Errors, before, "a view's refused store is not counted in Stats.Errors")
	require.Equal(t, "closed", c.Stats().Breaker)
}
