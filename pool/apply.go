package pool

import (
	"database/sql"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/redis/go-redis/v9"
)

// ApplySQL validates c and applies it to db: SetMaxIdleConns(Size),
// SetMaxOpenConns(Size+MaxOverflow), SetConnMaxLifetime(Recycle) and
// SetConnMaxIdleTime(IdleTimeout). Timeout, PrePing and RecycleJitter need
// the connector wrapper of OpenDB; ApplySQL cannot give a plain *sql.DB
// those. MinIdle applies to neither: database/sql opens connections only on
// demand (see Config.MinIdle).
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

// apply sets the fields. go-redis lets at most PoolSize callers hold a
// connection at once (a checkout takes a turn from a semaphore of PoolSize
// turns, and waits PoolTimeout for one), so PoolSize must be the whole
// Size+MaxOverflow: with PoolSize = Size the overflow was never opened.
// MaxIdleConns = Size closes a connection returned while Size are idle,
// which is what makes the ones beyond Size an overflow. MaxActiveConns =
// Size+MaxOverflow too: go-redis checks it when it dials, a second bound on
// what the turns already bound.
//
// go-redis draws each connection's lifetime as ConnMaxLifetime plus a
// random offset in [-jitter, +jitter), while Recycle is the most a
// connection lives and RecycleJitter spreads lifetimes below it. So
// ConnMaxLifetime = Recycle − RecycleJitter/2 with a jitter of
// RecycleJitter/2: lifetimes fall in [Recycle−RecycleJitter, Recycle).
func (f redisFields) apply(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	r := c.Resolved()
	*f.poolSize = c.MaxOpen()
	*f.maxIdle = r.Size
	*f.minIdle = r.MinIdle
	*f.maxActive = c.MaxOpen()
	*f.poolTimeout = r.Timeout
	half := r.RecycleJitter / 2
	*f.maxLifetime = r.Recycle - half
	*f.jitter = half
	*f.maxIdleTime = r.IdleTimeout
	return nil
}

// ApplyRedis validates c and applies it to go-redis options: PoolSize and
// MaxActiveConns = Size+MaxOverflow (go-redis hands out at most PoolSize
// connections at once), MaxIdleConns = Size (a connection returned while
// Size are idle is closed: the overflow), MinIdleConns = MinIdle,
// PoolTimeout = Timeout, ConnMaxIdleTime = IdleTimeout, and
// ConnMaxLifetime = Recycle − RecycleJitter/2 with ConnMaxLifetimeJitter =
// RecycleJitter/2: go-redis spreads lifetimes both ways around
// ConnMaxLifetime, so this keeps them in [Recycle−RecycleJitter, Recycle),
// Recycle staying the most a connection lives. PrePing is not mapped:
// go-redis checks a pooled connection's socket on checkout already.
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
