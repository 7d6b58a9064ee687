package near_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// The tests of this file hold the own-writes guarantee when the Cache does
// not make the write at all: a write refused by the circuit breaker, or
// made with a context that has already ended, still drops what it would
// have changed from this process's memory.

// ownWrites are the Cache's writes that change "k" (and its tag "t"), by
// name; each returns the write's error.
var ownWrites = map[string]func(ctx context.Context, c *caching.Cache) error{
	"InvalidateTags": func(ctx context.Context, c *caching.Cache) error { return c.InvalidateTags(ctx, "t") },
	"Delete":         func(ctx context.Context, c *caching.Cache) error { return c.Delete(ctx, "k") },
	"DeleteMany": func(ctx context.Context, c *caching.Cache) error {
		_, err := c.DeleteMany(ctx, "k")
		return err
	},
	"Set":   func(ctx context.Context, c *caching.Cache) error { return c.Set(ctx, "k", []byte("v2"), time.Hour) },
	"Clear": func(ctx context.Context, c *caching.Cache) error { return c.Clear(ctx) },
	// Under a tag whose version is not in memory: the write is refused at
	// the read of that version, before the entry's own write.
	"Set under a new tag": func(ctx context.Context, c *caching.Cache) error {
		return c.Set(ctx, "k", []byte("v2"), time.Hour, caching.Tags("new"))
	},
	"SetAs under a new tag": func(ctx context.Context, c *caching.Cache) error {
		return caching.SetAs(ctx, c, "k", "v2", time.Hour, caching.Tags("new"))
	},
	"SetMany under a new tag": func(ctx context.Context, c *caching.Cache) error {
		return c.SetMany(ctx, map[string][]byte{"a": []byte("x"), "k": []byte("v2")}, time.Hour, caching.Tags("new"))
	},
}

// holdNear writes "k" = "v1" under the tag "t" through c, and reads it
// until c serves it from s's memory (a Redis store's news of the write
// itself may drop the first value kept).
func holdNear(t *testing.T, c *caching.Cache, s *near.Store) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", []byte("v1"), time.Hour, caching.Tags("t")))
	require.Eventually(t, func() bool {
		v, err, fromMemory := getK(c, s)
		return err == nil && string(v) == "v1" && fromMemory
	}, 5*time.Second, 5*time.Millisecond, "k is never served from memory")
}

// getK gets "k" through c, and reports whether s's memory served it:
// the entry and its tag's version were all there.
func getK(c *caching.Cache, s *near.Store) (v []byte, err error, fromMemory bool) {
	misses := s.NearStats().Misses
	v, err = c.Get(context.Background(), "k")
	return v, err, s.NearStats().Misses == misses
}

func TestOwnWriteWithAnEndedContextStillDropsNear(t *testing.T) {
	for name, write := range ownWrites {
		t.Run(name, func(t *testing.T) {
			// MaxStale does not end the old value during the test.
			p := newProcess(t, newBus(t), near.Options{MaxStale: time.Hour}, caching.Options{})
			holdNear(t, p.c, p.near)
			ended, cancel := context.WithCancel(context.Background())
			cancel()

			require.ErrorIs(t, write(ended, p.c), context.Canceled)
			// The write was not made: the remote store still answers v1,
			// as it would without a near cache, but memory must not.
			_, _, fromMemory := getK(p.c, p.near)
			assert.False(t, fromMemory, "after its own %s returned, the process serves what it read before from memory", name)
		})
	}
}

// TestOwnWriteRefusedByTheBreakerStillDropsNear: a Redis of the test's own
// stops taking writes (CLIENT PAUSE WRITE: reads and the watch go on), so
// that writes time out and open the breaker, though reads answer; then every write of the
// process is refused before it reaches the near cache.
func TestOwnWriteRefusedByTheBreakerStillDropsNear(t *testing.T) {
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	ctx := context.Background()
	n := 0
	for name, write := range ownWrites {
		n++
		t.Run(name, func(t *testing.T) {
			remote := redisstore.Must(redisstore.Options{
				ClientOptions: &redis.UniversalOptions{Addrs: []string{srv.Addr}},
				Prefix:        "refused-" + strconv.Itoa(n),
			})
			s := near.Must(remote, near.Options{MaxStale: time.Hour})
			require.NoError(t, s.WaitWatching(ctx))
			c := caching.Must(&caching.Options{
				Backend: s,
				Timeout: 50 * time.Millisecond,
				Breaker: caching.BreakerOptions{Threshold: 2, Cooldown: time.Minute},
			})
			t.Cleanup(func() { _ = c.Close() })
			holdNear(t, c, s)

			require.NoError(t, admin.Do(ctx, "CLIENT", "PAUSE", "2000", "WRITE").Err())
			t.Cleanup(func() { _ = admin.Do(ctx, "CLIENT", "UNPAUSE").Err() })
			for range 2 {
				// GetOrSet's store is bounded by Options.Timeout, which the
				// breaker counts as a failure (a deadline of the caller's
				// own would not be): its read answers, its Set times out.
				_, _ = caching.GetOrSet(ctx, c, "other", time.Hour, func(context.Context) (string, error) { return "x", nil })
			}
			require.Equal(t, "open", c.Stats().Breaker)

			require.ErrorIs(t, write(ctx, c), caching.ErrUnavailable)
			require.True(t, s.NearStats().Watching, "the watch was lost: memory was emptied for that reason")
			v, _, fromMemory := getK(c, s)
			assert.False(t, fromMemory, "after its own %s returned, the process serves what it read before from memory", name)
			assert.NotEqual(t, "v1", string(v), "the breaker is open: v1 can only come from memory")
		})
	}
}
