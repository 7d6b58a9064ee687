package simple

import (
	"fmt"
	"math/bits"
	"runtime"
	"time"

	"github.com/go-caching/caching/backend"
)

// Defaults used for the zero fields of Options.
const (
	// DefaultMaxEntries is the entry bound when Options.MaxEntries is 0.
	DefaultMaxEntries = 100_000
	// DefaultMaxBytes is the byte bound when Options.MaxBytes is 0: 64 MiB.
	DefaultMaxBytes = 64 << 20
	// DefaultSweepInterval is the period of the expiry sweep when
	// Options.SweepInterval is 0.
	DefaultSweepInterval = time.Minute
	// MaxShards is the largest accepted Options.Shards.
	MaxShards = 1 << 16

	// maxDefaultShards caps the default shard count: past it, more shards
	// cost memory and hit ratio for little throughput.
	maxDefaultShards = 256
	// minShardEntries and minShardBytes are the smallest share of the bounds
	// a shard gets when the shard count is chosen by default, so that small
	// stores keep a useful eviction order and a 1 MiB value fits by default.
	minShardEntries = 64
	minShardBytes   = 4 << 20

	// maxShardEntries bounds a shard's entries so that every place of its
	// index fits a slot's 32-bit loc (group<<3 | byte).
	maxShardEntries = 1 << 30
)

// Options configures a Store. The zero value of every field means its
// default, so Options{} is a valid configuration.
type Options struct {
	// MaxEntries bounds the number of entries held (byte values and Go values
	// together): the store never holds more. Default DefaultMaxEntries
	// (100,000). Negative is an error, and so is 2³⁰ or more per shard.
	MaxEntries int

	// MaxBytes bounds the memory the entries hold. Each entry counts
	// len(key)+len(value)+EntryOverhead (64) for a byte value, and
	// len(key)+size+ValueOverhead (112) for a Go value (size is what its
	// caller passes to StoreValue: an estimate of what the value holds),
	// so that a flood of small entries cannot hold several times the bound.
	// Filled past the bound with tiny, large or Go values, a store holds
	// 1.0 to 1.1×MaxBytes of live heap in the package's heap test, when the
	// sizes given to StoreValue are right; at most 1.5×MaxBytes allowing
	// for the rounding of large values to Go's allocation sizes (up to
	// 12.5%, not counted), plus a fixed part of a few hundred bytes per
	// shard. Default DefaultMaxBytes (64 MiB). Negative is an error, and so
	// is a share per shard (MaxBytes/Shards) of EntryOverhead or less.
	//
	// The bound is split evenly between the shards, so one entry counting
	// more than MaxBytes/Shards (see Store.MaxValueSize) is rejected with
	// backend.ErrValueTooLarge.
	MaxBytes int64

	// Shards is the number of independently locked parts of the store (its
	// writers lock one shard; its readers take no lock), a power of two from
	// 1 to MaxShards, at most MaxEntries, and such that each shard's share
	// of MaxBytes exceeds EntryOverhead. Default: the power of two at or
	// above 4×GOMAXPROCS, at most 256, halved while a shard's share would be
	// under 64 entries or 4 MiB (so the default store has 16 shards at most
	// and takes entries of up to 4 MiB, key and overhead included).
	// Writers of one shard queue on its lock: a write-heavy store on many
	// cores gains from more shards than the default (on 16 cores, a 90/10
	// Get/Set mix ran 36% faster with 64 shards than with the 8 a 51 MB
	// store gets by default), at the cost of the largest entry, which is
	// MaxBytes/Shards.
	Shards int

	// SweepInterval is the period of the background goroutine that removes
	// expired entries (reads never return them in any case: they are also
	// expired lazily). Default DefaultSweepInterval (1 minute); negative
	// means no sweep goroutine (an expired Dropper, which reads leave in
	// place, then waits for the eviction hand or a write of its key).
	SweepInterval time.Duration

	// Clock returns the current time; tests inject a fake one. Only the
	// differences between its readings matter, taken as they are. Default
	// time.Now, whose differences are read on the monotonic clock, plus
	// the time the machine was suspended, which that clock does not count
	// (the wall clock's progress past it: see Expiry in the package
	// documentation).
	Clock func() time.Time

	// OnEvict, if set, is called with the key of each entry removed to make
	// room for another (not for expiry, Delete, Clear or overwrite). It is
	// called from the goroutine whose write caused the eviction, after the
	// store's locks are released, so it may call the store; for a
	// StoreValueDeferred, when its caller calls Evictions.Notify (package
	// caching does once it has released a lock of its own). If it panics
	// (or calls runtime.Goexit) for a key, the other keys the write evicted
	// are still told, and then the write panics with OnEvict's first
	// panic; the write itself is made. Default nil.
	OnEvict func(key string)
}

// ErrInvalidOption is wrapped by every error New returns for invalid
// Options; the error text names the field and the valid range. It is
// backend.ErrInvalidOption.
var ErrInvalidOption = backend.ErrInvalidOption

// config is Options validated and with defaults applied.
type config struct {
	maxEntries    int64
	maxBytes      int64
	shards        int
	sweepInterval time.Duration
	clock         func() time.Time
	onEvict       func(key string)
}

func (o Options) config() (config, error) {
	c := config{
		maxEntries:    int64(o.MaxEntries),
		maxBytes:      o.MaxBytes,
		shards:        o.Shards,
		sweepInterval: o.SweepInterval,
		clock:         o.Clock,
		onEvict:       o.OnEvict,
	}
	switch {
	case o.MaxEntries < 0:
		return c, fmt.Errorf("simple: MaxEntries is %d, want 0 (default %d) or more: %w", o.MaxEntries, DefaultMaxEntries, ErrInvalidOption)
	case o.MaxBytes < 0:
		return c, fmt.Errorf("simple: MaxBytes is %d, want 0 (default %d) or more: %w", o.MaxBytes, DefaultMaxBytes, ErrInvalidOption)
	case o.Shards < 0 || o.Shards > MaxShards || o.Shards&(o.Shards-1) != 0:
		return c, fmt.Errorf("simple: Shards is %d, want 0 (default) or a power of two from 1 to %d: %w", o.Shards, MaxShards, ErrInvalidOption)
	}
	if c.maxEntries == 0 {
		c.maxEntries = DefaultMaxEntries
	}
	if c.maxBytes == 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if c.sweepInterval == 0 {
		c.sweepInterval = DefaultSweepInterval
	}
	if c.shards == 0 {
		c.shards = defaultShards(runtime.GOMAXPROCS(0), c.maxEntries, c.maxBytes)
	} else if int64(c.shards) > c.maxEntries {
		return c, fmt.Errorf("simple: Shards is %d, more than MaxEntries (%d): %w", c.shards, c.maxEntries, ErrInvalidOption)
	}
	if c.maxBytes/int64(c.shards) <= EntryOverhead {
		return c, fmt.Errorf("simple: MaxBytes is %d, want more than EntryOverhead (%d) per shard (%d shards): %w", c.maxBytes, EntryOverhead, c.shards, ErrInvalidOption)
	}
	if c.maxEntries/int64(c.shards) >= maxShardEntries {
		return c, fmt.Errorf("simple: MaxEntries is %d, want under %d per shard (%d shards): %w", c.maxEntries, maxShardEntries, c.shards, ErrInvalidOption)
	}
	return c, nil
}

// defaultShards is the default shard count for procs processors and the
// given bounds.
func defaultShards(procs int, maxEntries, maxBytes int64) int {
	n := min(1<<bits.Len(uint(4*procs-1)), maxDefaultShards)
	for n > 1 && (maxEntries/int64(n) < minShardEntries || maxBytes/int64(n) < minShardBytes) {
		n /= 2
	}
	return n
}
