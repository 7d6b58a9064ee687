package redisstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// connectionsReceived is how many connections the server has accepted
// since it started.
func connectionsReceived(t *testing.T, admin *redis.Client) int64 {
	t.Helper()
	return statsField(t, admin, "total_connections_received")
}

// Redis reads no argument longer than its proto-max-bulk-len (512 MiB by
// default, 1 MiB at the least): it answered a longer value with "ERR
// Protocol error: invalid bulk length" and closed the connection (or reset
// it while the value was still being written). The value under the key
// stayed readable, and the error was one a Cache's breaker counts, so that
// a client making responses that large opened it for everyone. The Store
// reads proto-max-bulk-len with maxmemory and refuses such a value before
// sending it, as it refuses one over maxmemory: an error wrapping
// backend.ErrValueTooLarge, the older value removed by Set and SetMany and
// kept by Add, and the connection kept. A value of exactly
// proto-max-bulk-len is sent and stored.
func TestValueOverProtoMaxBulkLenIsRefusedBeforeSending(t *testing.T) {
	addr := redisWith(t, "--proto-max-bulk-len", "1mb")
	ctx := context.Background()
	// Timeouts long enough for a 1 MiB value on a loaded machine: the test is
	// about what is stored, not how fast.
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s&pool_size=1", Prefix: "a"})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()

	over := bytes.Repeat([]byte("x"), 1<<20+1)
	for _, op := range []string{"set", "setmany", "add"} {
		t.Run(op, func(t *testing.T) {
			require.NoError(t, b.Set(ctx, op, []byte("old"), time.Hour))
			conns, in := connectionsReceived(t, admin), netInput(t, admin)

			switch op {
			case "set":
				err = b.Set(ctx, op, over, time.Hour)
			case "setmany":
				err = b.SetMany(ctx, []backend.Item{
					{Key: op, Value: over, TTL: time.Hour},
					{Key: "setmany-small", Value: []byte("small"), TTL: time.Hour},
				})
			case "add":
				var added bool
				added, err = b.Add(ctx, op, over, time.Hour)
				require.False(t, added)
			}
			require.ErrorIs(t, err, backend.ErrValueTooLarge, "a value over proto-max-bulk-len")
			require.Contains(t, err.Error(), "proto-max-bulk-len")

			got, gerr := b.Get(ctx, op)
			if op == "add" {
				require.NoError(t, gerr, "a refused Add removed what the key held")
				require.Equal(t, "old", string(got))
			} else {
				require.ErrorIs(t, gerr, backend.ErrNotFound, "the value the refused write was to replace is still readable")
			}
			if op == "setmany" {
				got, gerr := b.Get(ctx, "setmany-small")
				require.NoError(t, gerr, "SetMany's other item was not stored")
				require.Equal(t, "small", string(got))
			}
			require.Equal(t, conns, connectionsReceived(t, admin), "the refused write cost the Store its connection")
			require.Less(t, netInput(t, admin)-in, int64(64<<10), "the refused value was sent")
		})
	}

	t.Run("at the limit", func(t *testing.T) {
		atLimit := over[:1<<20]
		require.NoError(t, b.Set(ctx, "limit", atLimit, time.Hour))
		got, err := b.Get(ctx, "limit")
		require.NoError(t, err)
		require.Equal(t, len(atLimit), len(got))
	})
}
