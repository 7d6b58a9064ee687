package pool

import (
	"database/sql"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// ApplySQL validates c and applies it to db: SetMaxIdleConns(Size),
// SetMaxOpenConns(Size+MaxOverflow), SetConnMaxLifetime(Recycle) and
// SetConnMaxIdleTime(IdleTimeout). Timeout, PrePing, RecycleJitter and
// MinIdle need the connector wrapper of OpenDB; ApplySQL cannot give a plain
// *sql.DB those.
func ApplySQL(db *sql.DB, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := c.Resolved()
	db.SetMaxOpenConns(c.MaxOpen())
	db.SetMaxIdleConns(r.Size)
	db.SetConnMaxLifetime(r.Recycle)
	db.SetConnMaxIdleTime(r.IdleTimeout)
	return nil
}

// redisFields are the go-redis pool fields every options type shares.
type redisFields struct {
	poolSize, minIdle, maxIdle, maxActive *int
	poolTimeout, maxLifetime, jitter      *time.Duration
	maxIdleTime                           *time.Duration
}

func (f redisFields) apply(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := c.Resolved()
	*f.poolSize = r.Size
	*f.maxIdle = r.Size
	*f.minIdle = r.MinIdle
	*f.maxActive = c.MaxOpen()
	*f.poolTimeout = r.Timeout
	*f.maxLifetime = r.Recycle
	*f.jitter = r.RecycleJitter
	*f.maxIdleTime = r.IdleTimeout
	return nil
}

// ApplyRedis validates c and applies it to go-redis options: PoolSize and
// MaxIdleConns = Size, MaxActiveConns = Size+MaxOverflow, MinIdleConns =
// MinIdle, PoolTimeout = Timeout, ConnMaxLifetime = Recycle,
// ConnMaxLifetimeJitter = RecycleJitter, ConnMaxIdleTime = IdleTimeout.
// PrePing is not mapped: go-redis checks a pooled connection's socket on
// checkout already.
func ApplyRedis(o *redis.Options, c Config) error {
	return redisFields{&o.PoolSize, &o.MinIdleConns, &o.MaxIdleConns, &o.MaxActiveConns,
		&o.PoolTimeout, &o.ConnMaxLifetime, &o.ConnMaxLifetimeJitter, &o.ConnMaxIdleTime}.apply(c)
}

// ApplyRedisUniversal is ApplyRedis for *redis.UniversalOptions (single node,
// Sentinel or Cluster); in a cluster the limits hold per node.
func ApplyRedisUniversal(o *redis.UniversalOptions, c Config) error {
	return redisFields{&o.PoolSize, &o.MinIdleConns, &o.MaxIdleConns, &o.MaxActiveConns,
		&o.PoolTimeout, &o.ConnMaxLifetime, &o.ConnMaxLifetimeJitter, &o.ConnMaxIdleTime}.apply(c)
}

// ApplyRedisCluster is ApplyRedis for *redis.ClusterOptions; the limits hold
// per node.
func ApplyRedisCluster(o *redis.ClusterOptions, c Config) error {
	return redisFields{&o.PoolSize, &o.MinIdleConns, &o.MaxIdleConns, &o.MaxActiveConns,
		&o.PoolTimeout, &o.ConnMaxLifetime, &o.ConnMaxLifetimeJitter, &o.ConnMaxIdleTime}.apply(c)
}

// ApplyMemcache validates c and applies what gomemcache can take: its
// MaxIdleConns = Size (per server) and, when c.Timeout is set (its zero is
// left alone, as 30s would be far too long there), its Timeout = Timeout.
// gomemcache's Timeout bounds every socket read and write, not a wait for a
// connection:
// it has no bound on open connections (it dials one per concurrent call
// beyond the idle ones), so MaxOverflow, Recycle, IdleTimeout, PrePing and
// MinIdle cannot be applied.
func ApplyMemcache(mc *memcache.Client, c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := c.Resolved()
	mc.MaxIdleConns = r.Size
	if c.Timeout > 0 {
		mc.Timeout = c.Timeout
	}
	return nil
}
