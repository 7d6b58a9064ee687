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

// The Store refuses, without sending it, a value of more than
// maxmemLimit(maxmemory): a third of what is left of the server's
// maxmemory after maxmemReserve. Under an allkeys-* (or volatile-*) policy
// Redis takes a value that large after evicting every other key of the
// server to make room (every tenant's, in every database), or evicts them
// all and then refuses it. Half of maxmemory is not margin enough: while
// Redis 7 reads and stores a value it holds about twice the value, each
// copy rounded up to jemalloc's size class (up to 25% more), on top of its
// own memory (about 1 MiB for an empty Redis 7) and its other keys. Probed
// on Redis 7.0.15 with 300 KiB of other keys: 44% of a 64 MiB maxmemory
// evicted every key and was refused (42% was stored, every key kept);
// 38% of 8 MiB and 32% of 4 MiB evicted most keys (36% and 30% did not).
// A third of maxmemory less maxmemReserve leaves the value's two rounded
// copies (2.5 thirds at most) half a third of room besides the server's
// own memory; a value that large is too large for a cache anyway.
//
// It also refuses, without sending it, a value longer than the server's
// proto-max-bulk-len (defaultBulkMax where it cannot be read), which Redis
// does not read: it answers "ERR Protocol error: invalid bulk length" and
// closes the connection. proto-max-bulk-len is 1 MiB at the least, so a
// value under maxmemCheckMin is never over it.
//
// The Store reads maxmemory (CONFIG GET maxmemory, or INFO memory when
// CONFIG is refused) and proto-max-bulk-len (a second CONFIG GET; none
// when CONFIG is refused) on the first write of a value of maxmemCheckMin
// bytes or more, and again on the first such write maxmemEvery later: two
// round trips a minute at most, started by the write that finds them due.
// The read runs on its own goroutine with a context of its own (the
// caller's values, not its cancellation, bounded by maxmemReadFor), so a
// caller that leaves does not make it fail. The write that starts it, and
// the writes that come while the first one runs, wait for it, each no
// longer than its own context allows (one that stops waiting goes on
// without the guard); later writes use the values read before. Close
// cancels a read that runs and waits for it to end, until maxmemReadFor
// past the read's own deadline at most (a read that outlives its deadline
// so long has a client hook that ignores it). On a Cluster it asks every
// master and keeps the smallest maxmemory and proto-max-bulk-len (a
// value's master is not known before it is sent); on a Ring, every shard.
// maxmemory 0 (no limit) guards nothing. When the read fails (an ACL that
// refuses CONFIG and INFO, a server down or stalled) the Store keeps what
// it read before (nothing at first: no maxmemory guard, and
// defaultBulkMax), and reads again only maxmemRetry (a refusal:
// refusedForGood) or maxmemRetryErr (any other error, BUSY included)
// later, never on every write. Smaller values cost one comparison: neither
// a clock read nor an atomic load.
const (
	maxmemCheckMin = 64 << 10
	maxmemEvery    = time.Minute
	maxmemRetry    = time.Minute
	maxmemRetryErr = 5 * time.Second
	maxmemReadFor  = 2 * time.Second
	maxmemReserve  = 1 << 20
)

// maxmemLimit is the largest value the Store sends to a server whose
// maxmemory is limit (not 0): a third of limit less maxmemReserve.
func maxmemLimit(limit int64) int64 {
	return (limit - maxmemReserve) / 3
}

// serverLimits returns the server's maxmemory (0: no limit, or not read)
// and proto-max-bulk-len (defaultBulkMax until read) as last read; it reads
// them first when that is due, waiting for the read no longer than ctx
// allows. The caller calls it only for a value of maxmemCheckMin bytes or
// more.
func (b *Store) serverLimits(ctx context.Context) (maxmem, bulk int64) {
	if time.Now().UnixNano() >= b.maxmemNext.Load() {
		if done := b.refreshMaxmemory(ctx); done != nil {
			select {
			case <-done:
			case <-ctx.Done():
			}
		}
	}
	bulk = b.bulkMax.Load()
	if bulk <= 0 {
		bulk = defaultBulkMax
	}
	return b.maxmem.Load(), bulk
}

// refreshMaxmemory starts reading the server's maxmemory and
// proto-max-bulk-len into b.maxmem and b.bulkMax,
// unless a read runs already or the last one is recent. It returns a
// channel closed when the read ends, for the caller to wait on: that of
// the read it started, or of the first read while it runs; nil otherwise
// (the value read before serves).
func (b *Store) refreshMaxmemory(ctx context.Context) <-chan struct{} {
	b.maxmemMu.Lock()
	defer b.maxmemMu.Unlock()
	if b.maxmemDone != nil { // a read runs
		if b.maxmemTried.Load() {
			return nil
		}
		return b.maxmemDone
	}
	now := time.Now()
	if now.UnixNano() < b.maxmemNext.Load() {
		return nil // read by another call meanwhile
	}
	if b.closed.Load() {
		return nil // Close waits for no read started after it
	}
	done := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), b.maxmemFor)
	b.maxmemDone, b.maxmemStop, b.maxmemEnd = done, cancel, now.Add(b.maxmemFor)
	go func() {
		defer cancel()
		lim, err := b.readLimits(ctx)
		next := now.Add(maxmemEvery)
		if err != nil {
			next = now.Add(maxmemRetryErr)
			if refusedForGood(err) {
				next = now.Add(maxmemRetry) // refused: asking again soon would be refused again
			}
		} else {
			b.maxmem.Store(lim.maxmem)
			b.bulkMax.Store(lim.bulk)
		}
		b.maxmemNext.Store(next.UnixNano())
		b.maxmemTried.Store(true)
		b.maxmemMu.Lock()
		b.maxmemDone, b.maxmemStop = nil, nil
		b.maxmemMu.Unlock()
		close(done)
	}()
	return done
}

// stopMaxmemory cancels the maxmemory read that runs, if one does, and
// waits for it to end, so that the Store uses its client no more: Close
// calls it once b.closed is set, after which refreshMaxmemory starts no
// read. The read returns when cancelled, or at its deadline at the latest,
// as a go-redis client with ContextTimeoutEnabled (which New requires of
// it) does: mostly at once, but a command whose connection is still being
// set up may wait for its deadline. A read that has not ended maxmemFor
// past its deadline (a hook of the client's that ignores its context,
// which a user's client may have) is left to end by itself, and
// stopMaxmemory returns an error that says so: Close must not hang on it.
func (b *Store) stopMaxmemory() error {
	b.maxmemMu.Lock()
	done, stop, end := b.maxmemDone, b.maxmemStop, b.maxmemEnd
	b.maxmemMu.Unlock()
	if stop == nil {
		return nil
	}
	stop()
	t := time.NewTimer(time.Until(end) + b.maxmemFor)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
		return fmt.Errorf("redisstore: close: the read of the server's maxmemory did not end within %v of its deadline (a hook of the client that ignores its context?); left running", b.maxmemFor)
	}
}

// limits are what a server accepts: maxmem, its maxmemory (0: no limit);
// bulk, its proto-max-bulk-len (defaultBulkMax where it cannot be read).
type limits struct{ maxmem, bulk int64 }

// readLimits asks the server (every master of a Cluster, every shard of a
// Ring) for its maxmemory and proto-max-bulk-len, and returns the smallest
// maxmemory that is not 0 (0 when every one is 0: no limit) and the
// smallest proto-max-bulk-len.
func (b *Store) readLimits(ctx context.Context) (limits, error) {
	var each func(ctx context.Context, fn func(ctx context.Context, node *redis.Client) error) error
	switch c := b.client.(type) {
	case masterLister:
		each = c.ForEachMaster
	case shardLister:
		each = c.ForEachShard
	default:
		return b.nodeLimits(ctx, b.client)
	}
	var (
		mu       sync.Mutex
		smallest limits
	)
	err := each(ctx, func(ctx context.Context, node *redis.Client) error {
		l, err := b.nodeLimits(ctx, node)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if l.maxmem > 0 && (smallest.maxmem == 0 || l.maxmem < smallest.maxmem) {
			smallest.maxmem = l.maxmem
		}
		if smallest.bulk == 0 || l.bulk < smallest.bulk {
			smallest.bulk = l.bulk
		}
		return nil
	})
	return smallest, err
}

// defaultBulkMax is Redis's default proto-max-bulk-len, 512 MiB: the
// limit the Store assumes of a server whose own it cannot read (CONFIG
// refused, as managed Redis services do, or a proxy that does not answer
// it).
const defaultBulkMax = 512 << 20

// nodeLimits is the maxmemory and proto-max-bulk-len of the server c sends
// keyless commands to: CONFIG GET maxmemory, then CONFIG GET
// proto-max-bulk-len (two commands: CONFIG GET takes several names only
// from Redis 7, and a client hook sees each as it sees a command of its
// own), or, once CONFIG was refused (renamed, disabled, or denied by an
// ACL: refusedForGood), INFO memory's maxmemory field and defaultBulkMax,
// which INFO does not tell. A proto-max-bulk-len refused so, or not
// answered, is defaultBulkMax too.
func (b *Store) nodeLimits(ctx context.Context, c redis.Cmdable) (limits, error) {
	if !b.maxmemByInfo.Load() {
		cfg, err := c.ConfigGet(ctx, "maxmemory").Result()
		switch {
		case err == nil:
			if v, ok := cfg["maxmemory"]; ok {
				maxmem, err := parseBytes("maxmemory", v)
				if err != nil {
					return limits{}, err
				}
				bulk, err := b.nodeBulkMax(ctx, c)
				return limits{maxmem: maxmem, bulk: bulk}, err
			}
			// A proxy or a Redis-compatible store may answer with nothing.
		case refusedForGood(err):
			b.maxmemByInfo.Store(true)
		default: // a refusal of the moment (BUSY) too: CONFIG is asked again
			return limits{}, err
		}
	}
	l := limits{bulk: defaultBulkMax}
	info, err := c.Info(ctx, "memory").Result()
	if err != nil {
		return limits{}, err
	}
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "maxmemory:"); ok {
			l.maxmem, err = parseBytes("maxmemory", v)
			return l, err
		}
	}
	return limits{}, errors.New("redisstore: no maxmemory in INFO memory")
}

// nodeBulkMax is the proto-max-bulk-len of the server c sends keyless
// commands to (CONFIG GET), or defaultBulkMax when the server refuses it
// or answers with nothing (a proxy, a Redis-compatible store).
func (b *Store) nodeBulkMax(ctx context.Context, c redis.Cmdable) (int64, error) {
	cfg, err := c.ConfigGet(ctx, "proto-max-bulk-len").Result()
	switch {
	case refusedForGood(err):
		return defaultBulkMax, nil
	case err != nil:
		return 0, err
	}
	v, ok := cfg["proto-max-bulk-len"]
	if !ok {
		return defaultBulkMax, nil
	}
	n, err := parseBytes("proto-max-bulk-len", v)
	if err != nil {
		return 0, err
	}
	if n == 0 {
		return defaultBulkMax, nil
	}
	return n, nil
}

// refusedForGood reports whether err is a server's refusal of a command
// itself (unknown or renamed, denied by an ACL, not spoken by a proxy),
// which asking again would get again, and not one of the moment, which it
// sends instead of running any command (a script running past
// busy-reply-threshold, a data set loading: notRun's): a busy server's
// "BUSY" once made the Store read INFO for good, which does not tell
// proto-max-bulk-len, and ask again only a minute later.
func refusedForGood(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && !notRun(err)
}

// parseBytes parses the setting name as CONFIG GET and INFO write it:
// bytes, in decimal.
func parseBytes(name, s string) (int64, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("redisstore: %s %q is not a number of bytes", name, s)
	}
	return n, nil
}

// keyCheckMin is the shortest key (with the prefix) that the Store checks
// against the server's proto-max-bulk-len: 1 MiB, the least Redis allows
// that setting, so that a shorter key, any key in practice, costs one
// comparison.
const keyCheckMin = 1 << 20

// keyGuard returns the refusal, by operation op, of a key of n bytes (with
// the prefix) that the Store does not send: one longer than the server's
// proto-max-bulk-len, which Redis does not read, keys included (it answers
// "ERR Protocol error: invalid bulk length" and closes the connection). The
// refusal wraps backend.ErrKeyRefused: the server serves the other keys,
// and a Cache's breaker counts it neither as a success nor as a failure. A
// key of keyCheckMin bytes or more reads the server's limits as a large
// value does (serverLimits). It returns nil for a key to send.
func (b *Store) keyGuard(ctx context.Context, op string, n int) error {
	if n < keyCheckMin {
		return nil // inlined: no call for a key of common length
	}
	return b.keyOverBulk(ctx, op, n)
}

// keyOverBulk is keyGuard for a key of keyCheckMin bytes or more.
func (b *Store) keyOverBulk(ctx context.Context, op string, n int) error {
	_, bulk := b.serverLimits(ctx)
	if int64(n) <= bulk {
		return nil
	}
	return fmt.Errorf("redisstore: %s: %w: a key of %d bytes (with the prefix) is over the server's proto-max-bulk-len (%d bytes), the longest argument Redis reads; not sent",
		op, backend.ErrKeyRefused, n, bulk)
}

// keysGuard is keyGuard for the keys of a call on several (without the
// prefix): it returns the positions of those refused, in order, and the
// refusal of the last one; none and nil (one comparison a key) when every
// key is to be sent.
func (b *Store) keysGuard(ctx context.Context, op string, keys []string) (refused []int, err error) {
	for i, k := range keys {
		if kerr := b.keyGuard(ctx, op, len(b.prefix)+len(k)); kerr != nil {
			refused, err = append(refused, i), kerr
		}
	}
	return refused, err
}

// without returns keys less those at the positions skip (ascending), and
// the position in keys of each one it returns.
func without(keys []string, skip []int) (rest []string, at []int) {
	rest, at = make([]string, 0, len(keys)-len(skip)), make([]int, 0, len(keys)-len(skip))
	for i, k := range keys {
		if len(skip) > 0 && skip[0] == i {
			skip = skip[1:]
			continue
		}
		rest, at = append(rest, k), append(at, i)
	}
	return rest, at
}

// guard returns the refusal, by operation op, of a value of n bytes that
// the Store does not send: one over the server's proto-max-bulk-len (which
// Redis answers with "ERR Protocol error: invalid bulk length" and by
// closing the connection), one over a third of the server's maxmemory less
// 1 MiB (maxmemLimit), or one as large as a value the server refused with
// OOM less than oomGuardFor ago (oomGuarded). It returns nil for a value
// to send.
func (b *Store) guard(ctx context.Context, op string, n int) error {
	if n >= maxmemCheckMin {
		maxmem, bulk := b.serverLimits(ctx)
		if int64(n) > bulk {
			return fmt.Errorf("redisstore: %s: %w: a value of %d bytes is over the server's proto-max-bulk-len (%d bytes), the longest argument Redis reads; not sent",
				op, backend.ErrValueTooLarge, n, bulk)
		}
		if maxmem > 0 && int64(n) > maxmemLimit(maxmem) {
			return fmt.Errorf("redisstore: %s: %w: a value of %d bytes is over %d bytes, a third of the server's maxmemory (%d bytes) less 1 MiB, for which Redis would evict every other key of the server; not sent",
				op, backend.ErrValueTooLarge, n, maxmemLimit(maxmem), maxmem)
		}
	}
	if b.oomGuarded(n) {
		return b.oomGuardError(op)
	}
	return nil
}
