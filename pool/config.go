package pool

import (
	"errors"
	"fmt"
	"time"
)

// Defaults applied to the zero fields of a Config. They are SQLAlchemy's
// (pool_size=5, max_overflow=10, pool_timeout=30).
const (
	DefaultSize        = 5
	DefaultMaxOverflow = 10
	DefaultTimeout     = 30 * time.Second
)

// MaxConnections is the most Size and MaxOverflow may each be: go-redis
// allocates for every connection its pool may open when the client is
// built, and a sum near the largest int would wrap to a negative limit,
// which database/sql reads as none. It is the bound package cacheurl puts
// on pool_size and the other counts of connections.
const MaxConnections = 10000

// NoOverflow is the MaxOverflow that allows no connection beyond Size
// (SQLAlchemy's max_overflow=0; a zero MaxOverflow means DefaultMaxOverflow).
const NoOverflow = -1

// Errors of package pool. Test for them with errors.Is.
var (
	// ErrInvalidOption reports a Config with a field out of range or two
	// fields that contradict each other; the error text names them.
	ErrInvalidOption = errors.New("pool: invalid option")
	// ErrPoolTimeout reports that no connection became available within
	// Config.Timeout (SQLAlchemy's TimeoutError).
	ErrPoolTimeout = errors.New("pool: timed out waiting for a connection")
)

// Config is a connection pool's configuration in SQLAlchemy's vocabulary.
// Its zero fields mean the defaults documented on each; Validate (called by
// every Apply function and by OpenDB) rejects what is out of range. A Config
// is a value: it is safe to share once built.
type Config struct {
	// Size is the number of connections kept open when idle (pool_size).
	// Default DefaultSize (5); must be from 0 to MaxConnections.
	Size int
	// MaxOverflow is how many connections may be opened beyond Size under
	// load (max_overflow); they are closed when returned while Size are idle.
	// Zero means DefaultMaxOverflow (10); NoOverflow (-1) means none; at
	// most MaxConnections.
	// SQLAlchemy's "unlimited" (-1 there) is not offered: a pool here is
	// always bounded.
	MaxOverflow int
	// Timeout is how long an acquisition waits for a free connection before
	// failing with ErrPoolTimeout (pool_timeout). Default DefaultTimeout (30s).
	Timeout time.Duration
	// Recycle closes a connection once it is this old (pool_recycle), so that
	// a server or proxy that drops old connections never hands back a dead
	// one. It is the most a connection lives, in every pool it is applied
	// to: the jitter only shortens lifetimes. Zero: never.
	Recycle time.Duration
	// RecycleJitter spreads recycling: each connection's lifetime is Recycle
	// minus a random duration in [0, RecycleJitter), so connections opened
	// together are not all closed at once. Zero with Recycle set means
	// Recycle/10; it must not exceed Recycle, nor be set without it.
	RecycleJitter time.Duration
	// PrePing checks that an idle connection is alive before handing it out
	// (pool_pre_ping), replacing a dead one transparently. Default false.
	PrePing bool
	// IdleTimeout closes a connection that stayed idle this long. Zero: never.
	// Not in SQLAlchemy's QueuePool; database/sql and go-redis have it.
	IdleTimeout time.Duration
	// MinIdle is how many idle connections a pool keeps open ahead of demand
	// (go-redis MinIdleConns). Default 0; must not exceed Size. database/sql
	// and gomemcache cannot do it (see the README's table).
	MinIdle int
}

// Resolved returns c with its zero fields replaced by their defaults. It
// does not validate.
func (c Config) Resolved() Config {
	if c.Size == 0 {
		c.Size = DefaultSize
	}
	if c.MaxOverflow == 0 {
		c.MaxOverflow = DefaultMaxOverflow
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Recycle > 0 && c.RecycleJitter == 0 {
		c.RecycleJitter = c.Recycle / 10
	}
	return c
}

// MaxOpen returns the most connections the pool opens at once: Size plus the
// overflow, after defaults.
func (c Config) MaxOpen() int {
	r := c.Resolved()
	if r.MaxOverflow == NoOverflow {
		return r.Size
	}
	return r.Size + r.MaxOverflow
}

// Validate reports the first field out of range or contradiction, as an
// error wrapping ErrInvalidOption that names the field and the valid range.
func (c Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
	switch {
	case c.Size < 0:
		return bad("Size %d is negative (want >= 0; 0 means %d)", c.Size, DefaultSize)
	case c.Size > MaxConnections:
		return bad("Size %d exceeds %d (want 0 <= Size <= %d; 0 means %d)", c.Size, MaxConnections, MaxConnections, DefaultSize)
	case c.MaxOverflow < NoOverflow:
		return bad("MaxOverflow %d is below NoOverflow (want >= -1: -1 none, 0 means %d)", c.MaxOverflow, DefaultMaxOverflow)
	case c.MaxOverflow > MaxConnections:
		return bad("MaxOverflow %d exceeds %d (want -1 <= MaxOverflow <= %d: -1 none, 0 means %d)", c.MaxOverflow, MaxConnections, MaxConnections, DefaultMaxOverflow)
	case c.Timeout < 0:
		return bad("Timeout %v is negative (want >= 0; 0 means %v)", c.Timeout, DefaultTimeout)
	case c.Recycle < 0:
		return bad("Recycle %v is negative (want >= 0; 0 means never)", c.Recycle)
	case c.RecycleJitter < 0:
		return bad("RecycleJitter %v is negative (want 0 <= RecycleJitter <= Recycle)", c.RecycleJitter)
	case c.RecycleJitter > 0 && c.Recycle == 0:
		return bad("RecycleJitter %v is set without Recycle (jitter spreads recycling; set Recycle too)", c.RecycleJitter)
	case c.RecycleJitter > c.Recycle:
		return bad("RecycleJitter %v exceeds Recycle %v (want 0 <= RecycleJitter <= Recycle)", c.RecycleJitter, c.Recycle)
	case c.IdleTimeout < 0:
		return bad("IdleTimeout %v is negative (want >= 0; 0 means never)", c.IdleTimeout)
	case c.MinIdle < 0:
		return bad("MinIdle %d is negative (want 0 <= MinIdle <= Size)", c.MinIdle)
	}
	r := c.Resolved()
	if c.MinIdle > r.Size {
		return bad("MinIdle %d exceeds Size %d (want 0 <= MinIdle <= Size)", c.MinIdle, r.Size)
	}
	if r.Recycle > 0 && r.IdleTimeout >= r.Recycle {
		return bad("IdleTimeout %v is not below Recycle %v (an idle connection would be recycled first; lower IdleTimeout or leave it 0)", r.IdleTimeout, r.Recycle)
	}
	return nil
}
