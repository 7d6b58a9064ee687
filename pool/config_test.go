package pool_test

import (
	"database/sql"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

func TestConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     pool.Config
		wantErr string // "" when valid
	}{
		{"zero is SQLAlchemy's defaults", pool.Config{}, ""},
		{"no overflow", pool.Config{Size: 2, MaxOverflow: pool.NoOverflow}, ""},
		{"recycle with default jitter", pool.Config{Recycle: time.Hour}, ""},
		{"everything", pool.Config{Size: 4, MaxOverflow: 2, Timeout: time.Second, Recycle: time.Hour, RecycleJitter: time.Minute, PrePing: true, IdleTimeout: time.Minute, MinIdle: 4}, ""},
		{"negative size", pool.Config{Size: -1}, "Size -1"},
		{"overflow below NoOverflow", pool.Config{MaxOverflow: -2}, "MaxOverflow -2"},
		{"negative timeout", pool.Config{Timeout: -time.Second}, "Timeout -1s"},
		{"negative recycle", pool.Config{Recycle: -time.Second}, "Recycle -1s"},
		{"negative jitter", pool.Config{Recycle: time.Hour, RecycleJitter: -1}, "RecycleJitter -1ns is negative"},
		{"jitter without recycle", pool.Config{RecycleJitter: time.Second}, "without Recycle"},
		{"jitter over recycle", pool.Config{Recycle: time.Second, RecycleJitter: 2 * time.Second}, "exceeds Recycle"},
		{"negative idle timeout", pool.Config{IdleTimeout: -1}, "IdleTimeout -1ns"},
		{"idle timeout not below recycle", pool.Config{Recycle: time.Minute, IdleTimeout: time.Minute}, "not below Recycle"},
		{"min idle over size", pool.Config{Size: 2, MinIdle: 3}, "MinIdle 3 exceeds Size 2"},
		{"min idle over default size", pool.Config{MinIdle: 6}, "exceeds Size 5"},
		{"negative min idle", pool.Config{MinIdle: -1}, "MinIdle -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, pool.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Contains(t, err.Error(), "pool: ")
		})
	}
}

func TestConfigResolved(t *testing.T) {
	r := pool.Config{Recycle: time.Hour}.Resolved()
	assert.Equal(t, pool.Config{Size: 5, MaxOverflow: 10, Timeout: 30 * time.Second, Recycle: time.Hour, RecycleJitter: 6 * time.Minute}, r)
	assert.Equal(t, 15, pool.Config{}.MaxOpen())
	assert.Equal(t, 3, pool.Config{Size: 3, MaxOverflow: pool.NoOverflow}.MaxOpen())
}

func TestApplySQL(t *testing.T) {
	db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none") // never dialed
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, pool.ApplySQL(db, pool.Config{Size: 3, MaxOverflow: 4}))
	assert.Equal(t, 7, db.Stats().MaxOpenConnections)
	require.ErrorIs(t, pool.ApplySQL(db, pool.Config{Size: -3}), pool.ErrInvalidOption)
	assert.Equal(t, 7, db.Stats().MaxOpenConnections, "an invalid config changes nothing")
}

func TestApplyRedis(t *testing.T) {
	cfg := pool.Config{Size: 8, MaxOverflow: 2, Timeout: 2 * time.Second, Recycle: time.Hour, RecycleJitter: time.Minute, IdleTimeout: 5 * time.Minute, MinIdle: 2}
	check := func(t *testing.T, size, maxIdle, minIdle, maxActive int, timeout, life, jitter, idle time.Duration) {
		t.Helper()
		// PoolSize is Size+MaxOverflow: go-redis hands out at most PoolSize
		// connections at once. MaxIdleConns = Size closes the overflow.
		// go-redis jitters lifetimes both ways: Recycle − RecycleJitter/2 ±
		// RecycleJitter/2 stays within Recycle.
		assert.Equal(t, []any{10, 8, 2, 10, 2 * time.Second, time.Hour - 30*time.Second, 30 * time.Second, 5 * time.Minute},
			[]any{size, maxIdle, minIdle, maxActive, timeout, life, jitter, idle})
	}
	t.Run("Options", func(t *testing.T) {
		var o redis.Options
		require.NoError(t, pool.ApplyRedis(&o, cfg))
		check(t, o.PoolSize, o.MaxIdleConns, o.MinIdleConns, o.MaxActiveConns, o.PoolTimeout, o.ConnMaxLifetime, o.ConnMaxLifetimeJitter, o.ConnMaxIdleTime)
	})
	t.Run("UniversalOptions", func(t *testing.T) {
		var o redis.UniversalOptions
		require.NoError(t, pool.ApplyRedisUniversal(&o, cfg))
		check(t, o.PoolSize, o.MaxIdleConns, o.MinIdleConns, o.MaxActiveConns, o.PoolTimeout, o.ConnMaxLifetime, o.ConnMaxLifetimeJitter, o.ConnMaxIdleTime)
	})
	t.Run("ClusterOptions", func(t *testing.T) {
		var o redis.ClusterOptions
		require.NoError(t, pool.ApplyRedisCluster(&o, cfg))
		check(t, o.PoolSize, o.MaxIdleConns, o.MinIdleConns, o.MaxActiveConns, o.PoolTimeout, o.ConnMaxLifetime, o.ConnMaxLifetimeJitter, o.ConnMaxIdleTime)
	})
	t.Run("invalid", func(t *testing.T) {
		o := redis.Options{PoolSize: 3}
		require.ErrorIs(t, pool.ApplyRedis(&o, pool.Config{MinIdle: 9}), pool.ErrInvalidOption)
		assert.Equal(t, 3, o.PoolSize)
	})
}

func TestApplyMemcache(t *testing.T) {
	mc := memcache.New("127.0.0.1:11211")
	require.NoError(t, pool.ApplyMemcache(mc, pool.Config{Size: 6}))
	assert.Equal(t, 6, mc.MaxIdleConns)
	assert.Zero(t, mc.Timeout, "a zero Timeout leaves gomemcache's socket timeout alone")
	require.NoError(t, pool.ApplyMemcache(mc, pool.Config{Timeout: 200 * time.Millisecond}))
	assert.Equal(t, 200*time.Millisecond, mc.Timeout)
	require.ErrorIs(t, pool.ApplyMemcache(mc, pool.Config{Timeout: -1}), pool.ErrInvalidOption)
}
