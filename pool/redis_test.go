package pool_test

import (
	"context"
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
			// No retries: go-redis would retry the sixth caller's pool
			// timeout, and count one timeout per try.
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
// The BLPOPs wait with no timeout, until another client pushes one value
// for each: however slow the machine, they hold their connections while the
// extra caller asks for one.
func checkRedisOverflow(t *testing.T, rdb *redis.Client, cfg pool.Config) {
	t.Helper()
	ctx := t.Context()
	key := fmt.Sprintf("pooltest:blpop:%s:%d", t.Name(), time.Now().UnixNano())
	maxOpen := cfg.MaxOpen()
	// The values that end the BLPOPs come from a client of its own, which
	// takes no connection of rdb's; pushed again at cleanup, in case the
	// test ended early, so that no BLPOP is left waiting.
	pusher := redis.NewClient(&redis.Options{Addr: rdb.Options().Addr})
	release := func() error {
		vals := make([]any, maxOpen)
		for i := range vals {
			vals[i] = i
		}
		return pusher.RPush(context.WithoutCancel(ctx), key, vals...).Err()
	}
	var wg sync.WaitGroup
	released := false
	t.Cleanup(func() {
		if !released {
			_ = release()
		}
		wg.Wait()
		_ = pusher.Del(context.Background(), key).Err()
		_ = pusher.Close()
	})

	errs := make([]error, maxOpen)
	for i := range maxOpen {
		wg.Go(func() { errs[i] = rdb.BLPop(context.WithoutCancel(ctx), 0, key).Err() })
	}
	// Every BLPOP holds its connection until the values are pushed: wait
	// until they all do.
	held := assert.Eventually(t, func() bool {
		p := rdb.PoolStats()
		return p.TotalConns == uint32(maxOpen) && p.IdleConns == 0
	}, 30*time.Second, 5*time.Millisecond, "%d BLPOPs holding a connection each", maxOpen)

	if held {
		err := rdb.Ping(ctx).Err()
		require.ErrorIs(t, err, redis.ErrPoolTimeout, "caller %d, beyond Size+MaxOverflow", maxOpen+1)
	}
	released = true
	require.NoError(t, release())
	wg.Wait()
	for i, err := range errs {
		assert.NoError(t, err, "BLPOP %d of %d (Size %d + MaxOverflow %d)", i+1, maxOpen, cfg.Size, cfg.MaxOverflow)
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
