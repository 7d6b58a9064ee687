package pool_test

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestRedisRecycleIsAnUpperBound: Config.Recycle is the most a connection
// lives, and RecycleJitter spreads lifetimes below it. go-redis applies
// ConnMaxLifetimeJitter both ways (a lifetime of ConnMaxLifetime ± jitter),
// so mapping Recycle and RecycleJitter onto its fields as they are let a
// connection live up to Recycle+RecycleJitter: past the limit of the proxy
// or server that Recycle was set below. The lifetimes go-redis draws must
// lie in [Recycle−RecycleJitter, Recycle].
func TestRedisRecycleIsAnUpperBound(t *testing.T) {
	for _, cfg := range []pool.Config{
		{Recycle: time.Hour}, // default jitter: Recycle/10
		{Recycle: time.Hour, RecycleJitter: time.Minute},
		{Recycle: time.Minute, RecycleJitter: time.Minute},
		{Recycle: time.Second, RecycleJitter: 3}, // an odd number of nanoseconds
	} {
		r := cfg.Resolved()
		check := func(t *testing.T, life, jitter time.Duration) {
			t.Helper()
			// go-redis draws life + U[-jitter, +jitter).
			longest, shortest := life+jitter, life-jitter
			assert.LessOrEqual(t, longest, r.Recycle, "a connection outlives Recycle")
			assert.GreaterOrEqual(t, shortest, r.Recycle-r.RecycleJitter, "a connection is recycled earlier than Recycle−RecycleJitter")
			assert.GreaterOrEqual(t, longest-shortest, r.RecycleJitter-1, "the spread is lost")
		}
		t.Run(cfg.Recycle.String()+"/"+r.RecycleJitter.String(), func(t *testing.T) {
			var o redis.Options
			require.NoError(t, pool.ApplyRedis(&o, cfg))
			check(t, o.ConnMaxLifetime, o.ConnMaxLifetimeJitter)
			var u redis.UniversalOptions
			require.NoError(t, pool.ApplyRedisUniversal(&u, cfg))
			check(t, u.ConnMaxLifetime, u.ConnMaxLifetimeJitter)
			var c redis.ClusterOptions
			require.NoError(t, pool.ApplyRedisCluster(&c, cfg))
			check(t, c.ConnMaxLifetime, c.ConnMaxLifetimeJitter)
		})
	}
}
