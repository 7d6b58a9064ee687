package redisstore

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// A server busy with a long script answers CONFIG GET with "BUSY": a
// refusal of the moment, not of CONFIG. The Store took it for CONFIG
// refused for good: it read INFO from then on, which does not tell
// proto-max-bulk-len, so that the guard assumed 512 MiB for the Store's
// life, and it read again only a minute later. Now a busy server is asked
// again as soon as after any other failed read (maxmemRetryErr), with
// CONFIG, and the server's own proto-max-bulk-len guards the writes after.
func TestMaxmemoryBusyServerIsAskedAgainWithConfig(t *testing.T) {
	addr := bulkLimitedRedis(t, "--busy-reply-threshold", "1")
	b, err := New(Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s", Prefix: "busy"})
	require.NoError(t, err)
	defer b.Close()
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "warm", []byte("x"), time.Minute)) // the pool is up

	runner := redis.NewClient(&redis.Options{Addr: addr})
	defer runner.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	defer admin.Close()
	script := make(chan error, 1)
	go func() { script <- runner.Eval(ctx, "while true do end", nil).Err() }()
	// Polled: nothing else tells that the script runs; the bound is generous.
	for deadline := time.Now().Add(10 * time.Second); !redis.HasErrorPrefix(admin.Ping(ctx).Err(), "BUSY"); {
		require.True(t, time.Now().Before(deadline), "the script did not make the server busy")
	}

	t.Log("write while busy:", b.Set(ctx, "first", bytes.Repeat([]byte("v"), 100<<10), time.Minute)) // waits for the read
	assert.False(t, b.maxmemByInfo.Load(), "a busy server's BUSY made the Store read INFO, which has no proto-max-bulk-len, for good")
	assert.LessOrEqual(t, time.Until(time.Unix(0, b.maxmemNext.Load())), maxmemRetryErr, "a busy server is asked again only a minute later")

	require.NoError(t, admin.ScriptKill(ctx).Err())
	require.Error(t, <-script)
	b.maxmemNext.Store(0) // the retry is due (the test stands in for the seconds)
	err = b.Set(ctx, "next", bytes.Repeat([]byte("v"), 1<<20+1), time.Minute)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "a value over proto-max-bulk-len was sent")
	require.Contains(t, err.Error(), "proto-max-bulk-len (1048576 bytes)")
}
