package pool

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedisStatsInUseNeverNegative: while go-redis dials the MinIdle
// connections it counts one as idle before it counts it among its
// connections, so a read of its statistics can find more idle connections
// than open ones. The report showed in_use (and SQLAlchemy's checkedout)
// negative, and idle above open. Idle is at most Open, InUse at least 0.
func TestRedisStatsInUseNeverNegative(t *testing.T) {
	t.Parallel()
	fake := &scriptedPooler{script: []redis.PoolStats{{TotalConns: 1, IdleConns: 3}}}
	var reg Registry
	require.NoError(t, reg.RegisterRedis("redis", fake, Config{Size: 4, MinIdle: 3}))
	s := readRedis(t, &reg, "redis")
	assert.Equal(t, []int{1, 1, 0}, []int{s.Open, s.Idle, s.InUse}, "open, idle, in use")
	assert.Equal(t, []int{1, 0}, []int{s.SQLAlchemy.CheckedIn, s.SQLAlchemy.CheckedOut}, "checkedin, checkedout")
}
