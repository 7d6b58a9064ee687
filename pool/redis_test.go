package pool_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/go-caching/caching/pool"
)

// TestRedisOverflowConnectionsAreUsed: ApplyRedis set PoolSize = Size, and
// go-redis lets no more than PoolSize callers hold a connection at once, so
// with Size 2 and MaxOverflow 3 the third concurrent caller got "connection
// pool timeout" although the stats promised max_open 5.
func TestRedisOverflowConnectionsAreUsed(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	cfg := pool.Config{Size: 2, MaxOverflow: 3, Timeout: 300 * time.Millisecond}
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *redis.Client
	}{
		{"ApplyRedis", func(t *testing.T) *redis.Client {
			// No retries: go-redis retries a pool timeout, which would turn
			// the sixth caller's 300ms wait into one long enough for a
			// BLPOP to finish.
			o := &redis.Options{Addr: addr, MaxRetries: -1}
			require.NoError(t, pool.ApplyRedis(o, cfg))
			return redis.NewClient(o)
		}},
		{"ApplyRedisUniversal", func(t *testing.T) *redis.Client {
			o := &redis.UniversalOptions{Addrs: []string{addr}, MaxRetries: -1}
			require.NoError(t, pool.ApplyRedisUniversal(o, cfg))
			rdb, ok := redis.NewUniversalClient(o).(*redis.Client)
			require.True(t, ok, "one address makes a plain client")
			return rdb
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rdb := tc.open(t)
			t.Cleanup(func() { _ = rdb.Close() })
			checkRedisOverflow(t, rdb, cfg)
		})
	}
}

// checkRedisOverflow holds MaxOpen connections with BLPOPs on an empty list
// and checks that every one of them got a connection, that one more caller
// times out, and that the overflow connections are closed when returned.
func checkRedisOverflow(t *testing.T, rdb *redis.Client, cfg pool.Config) {
	t.Helper()
	ctx := t.Context()
	key := fmt.Sprintf("pooltest:blpop:%s:%d", t.Name(), time.Now().UnixNano())
	maxOpen := cfg.MaxOpen()

	errs := make([]error, maxOpen)
	var wg sync.WaitGroup
	for i := range maxOpen {
		wg.Go(func() { errs[i] = rdb.BLPop(ctx, time.Second, key).Err() })
	}
	// Every BLPOP holds its connection for 1s: wait until they all do.
	held := assert.Eventually(t, func() bool {
		p := rdb.PoolStats()
		return p.TotalConns == uint32(maxOpen) && p.IdleConns == 0
	}, 700*time.Millisecond, 5*time.Millisecond, "%d BLPOPs holding a connection each", maxOpen)

	if held {
		start := time.Now()
		err := rdb.Ping(ctx).Err()
		require.ErrorIs(t, err, redis.ErrPoolTimeout, "caller %d, beyond Size+MaxOverflow", maxOpen+1)
		assert.Less(t, time.Since(start), 900*time.Millisecond, "the extra caller gives up after Timeout, before a BLPOP is done")
	}
	wg.Wait()
	for i, err := range errs {
		assert.ErrorIs(t, err, redis.Nil, "BLPOP %d of %d (Size %d + MaxOverflow %d)", i+1, maxOpen, cfg.Size, cfg.MaxOverflow)
	}

	// Returned one at a time (the BLPOPs return theirs all at once, and
	// go-redis may then keep an extra one idle), the connections beyond
	// Size are closed: they were the overflow.
	conns := make([]*redis.Conn, maxOpen)
	for i := range conns {
		conns[i] = rdb.Conn()
		require.NoError(t, conns[i].Ping(ctx).Err(), "connection %d of %d", i+1, maxOpen)
	}
	for _, cn := range conns {
		require.NoError(t, cn.Close())
	}

	var reg pool.Registry
	require.NoError(t, reg.RegisterRedis("redis", rdb, cfg))
	s, ok := reg.Snapshot()["redis"].(pool.Stats)
	require.True(t, ok)
	assert.Equal(t, maxOpen, s.MaxOpen)
	assert.Equal(t, cfg.Size, s.Open, "the overflow connections are closed when returned, as SQLAlchemy's")
	assert.Equal(t, cfg.Size, s.Idle)
	assert.Equal(t, int64(1), s.Timeouts)
}
