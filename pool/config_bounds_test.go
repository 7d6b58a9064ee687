package pool_test

import (
	"database/sql"
	"math"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestConfigValidateBoundsConnectionCounts: Size and MaxOverflow had no
// upper bound. Their sum wrapped around to a negative MaxOpen for values
// near math.MaxInt, which database/sql reads as no limit at all, and
// go-redis allocates for every slot of a pool of that size. Each is
// refused above pool.MaxConnections, with an error naming the field.
func TestConfigValidateBoundsConnectionCounts(t *testing.T) {
	for _, tc := range []struct {
		cfg  pool.Config
		want string
	}{
		{pool.Config{Size: pool.MaxConnections + 1}, "Size 10001 exceeds 10000"},
		{pool.Config{Size: math.MaxInt}, "Size 9223372036854775807 exceeds 10000"},
		{pool.Config{MaxOverflow: pool.MaxConnections + 1}, "MaxOverflow 10001 exceeds 10000"},
		{pool.Config{Size: 1, MaxOverflow: math.MaxInt}, "MaxOverflow 9223372036854775807 exceeds 10000"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			err := tc.cfg.Validate()
			require.ErrorIs(t, err, pool.ErrInvalidOption)
			assert.Contains(t, err.Error(), tc.want)

			db, err := sql.Open("pgx", "postgres://nobody@127.0.0.1:1/none") // never dialed
			require.NoError(t, err)
			defer db.Close()
			require.ErrorIs(t, pool.ApplySQL(db, tc.cfg), pool.ErrInvalidOption)
			assert.Zero(t, db.Stats().MaxOpenConnections, "the pool was left unlimited")
			var o redis.Options
			require.ErrorIs(t, pool.ApplyRedis(&o, tc.cfg), pool.ErrInvalidOption)
			assert.Zero(t, o.PoolSize)
		})
	}
	require.NoError(t, pool.Config{Size: pool.MaxConnections, MaxOverflow: pool.MaxConnections}.Validate())
}
