package redisstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/go-caching/caching/backend"
)

// The Store refuses, without sending it, a value of more than half the
// server's maxmemory: under an allkeys-* (or volatile-*) policy Redis
// takes a value that large after evicting every other key of the server to
// make room (every tenant's, in every database), or evicts them all and
// then refuses it. Half leaves room for the server's own memory (about
// 1 MiB for an empty Redis 7), its other keys and the query buffer the
// value is read into; a value that is half of maxmemory is too large for a
// cache anyway.
//
// The Store reads maxmemory (CONFIG GET maxmemory, or INFO memory when
// CONFIG is refused) on the first write of a value of maxmemCheckMin bytes
// or more, and again on the first such write maxmemEvery later: one round
// trip a minute at most, made by the write that finds it due (the writes
// that come while the first read runs wait for it; later ones use the
// value read before). On a Cluster it asks every master and keeps the
// smallest maxmemory (a value's master is not known before it is sent); on
// a Ring, every shard. maxmemory 0 (no limit) guards nothing. When the
// read fails (an ACL that refuses CONFIG and INFO, a server down) the
// Store keeps what it read before (nothing at first: no guard), and reads
// again only maxmemRetry (a refusal) or maxmemRetryErr (any other error)
// later, never on every write. Smaller values cost one comparison: neither
// a clock read nor an atomic load.
const (
	maxmemCheckMin = 64 << 10
	maxmemEvery    = time.Minute
	maxmemRetry    = time.Minute
	maxmemRetryErr = 5 * time.Second
)

// overMaxmemory reports whether a value of n bytes is over half the
// server's maxmemory, as last read; it reads maxmemory first when that is
// due (see maxmemCheckMin), with ctx. It returns the maxmemory it compared
// with.
func (b *Store) overMaxmemory(ctx context.Context, n int) (bool, int64) {
	if n < maxmemCheckMin {
		return false, 0
	}
	if time.Now().UnixNano() >= b.maxmemNext.Load() {
		b.refreshMaxmemory(ctx)
	}
	limit := b.maxmem.Load()
	return limit > 0 && int64(n) > limit/2, limit
}

// refreshMaxmemory reads the server's maxmemory into b.maxmem, unless
// another call is reading it: the first read is waited for, later ones are
// not (the value read before serves meanwhile).
func (b *Store) refreshMaxmemory(ctx context.Context) {
	if b.maxmemTried.Load() {
		if !b.maxmemMu.TryLock() {
			return
		}
	} else {
		b.maxmemMu.Lock()
	}
	defer b.maxmemMu.Unlock()
	now := time.Now()
	if now.UnixNano() < b.maxmemNext.Load() {
		return // read by the call this one waited for
	}
	defer b.maxmemTried.Store(true)
	limit, err := b.readMaxmemory(ctx)
	if err != nil {
		retry := maxmemRetryErr
		var re redis.Error
		if errors.As(err, &re) {
			retry = maxmemRetry // refused: asking again soon would be refused again
		}
		b.maxmemNext.Store(now.Add(retry).UnixNano())
		return
	}
	b.maxmem.Store(limit)
	b.maxmemNext.Store(now.Add(maxmemEvery).UnixNano())
}

// readMaxmemory asks the server (every master of a Cluster, every shard
// of a Ring) for its maxmemory and returns the smallest that is not 0, or 0
// when every one is 0 (no limit).
func (b *Store) readMaxmemory(ctx context.Context) (int64, error) {
	var each func(ctx context.Context, fn func(ctx context.Context, node *redis.Client) error) error
	switch c := b.client.(type) {
	case masterLister:
		each = c.ForEachMaster
	case shardLister:
		each = c.ForEachShard
	default:
		return b.nodeMaxmemory(ctx, b.client)
	}
	var (
		mu       sync.Mutex
		smallest int64
	)
	err := each(ctx, func(ctx context.Context, node *redis.Client) error {
		n, err := b.nodeMaxmemory(ctx, node)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if n > 0 && (smallest == 0 || n < smallest) {
			smallest = n
		}
		return nil
	})
	return smallest, err
}

// nodeMaxmemory is the maxmemory of the server c sends keyless commands
// to: CONFIG GET maxmemory, or, once CONFIG was refused (renamed,
// disabled, or denied by an ACL), INFO memory's maxmemory field.
func (b *Store) nodeMaxmemory(ctx context.Context, c redis.Cmdable) (int64, error) {
	if !b.maxmemByInfo.Load() {
		cfg, err := c.ConfigGet(ctx, "maxmemory").Result()
		var re redis.Error
		switch {
		case err == nil:
			if v, ok := cfg["maxmemory"]; ok {
				return parseMaxmemory(v)
			}
			// A proxy or a Redis-compatible store may answer with nothing.
		case errors.As(err, &re):
			b.maxmemByInfo.Store(true)
		default:
			return 0, err
		}
	}
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory:"); ok {
			return parseMaxmemory(v)
		}
	}
	return 0, errors.New("redisstore: no maxmemory in INFO memory")
}

// parseMaxmemory parses maxmemory as CONFIG GET and INFO write it: bytes,
// in decimal.
func parseMaxmemory(s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("redisstore: maxmemory %q is not a number of bytes", s)
	}
	return n, nil
}

// guard returns the refusal, by operation op, of a value of n bytes that
// the Store does not send: one over half the server's maxmemory
// (overMaxmemory), or one as large as a value the server refused with OOM
// less than oomGuardFor ago (oomGuarded). It returns nil for a value to
// send.
func (b *Store) guard(ctx context.Context, op string, n int) error {
	if over, limit := b.overMaxmemory(ctx, n); over {
		return fmt.Errorf("redisstore: %s: %w: a value of %d bytes is over half the server's maxmemory (%d bytes), for which Redis would evict every other key of the server; not sent",
			op, backend.ErrValueTooLarge, n, limit)
	}
	if b.oomGuarded(n) {
		return b.oomGuardError(op)
	}
	return nil
}
