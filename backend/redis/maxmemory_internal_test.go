package redisstore

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// configGets is how many CONFIG GET commands the server ran.
func configGets(t *testing.T, admin *redis.Client) int {
	t.Helper()
	s, err := admin.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(s, "\r\n") {
		if stats, ok := strings.CutPrefix(line, "cmdstat_config|get:calls="); ok {
			n, err := strconv.Atoi(stats[:strings.IndexByte(stats, ',')])
			require.NoError(t, err)
			return n
		}
	}
	return 0
}

// The Store reads maxmemory on its first large write, not again on the
// next ones, and again once maxmemEvery has passed: a limit set on the
// server after the Store read none guards the writes from then on.
func TestMaxmemoryIsReadAgainAfterAMinute(t *testing.T) {
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	ctx := context.Background()
	b, err := New(Options{URL: "redis://" + p.Addr})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: p.Addr})
	defer admin.Close()

	big := bytes.Repeat([]byte("x"), 3584<<10) // 3.5 MiB: over a third of 6 MiB
	for range 3 {
		require.NoError(t, b.Set(ctx, "k", big, time.Hour))
	}
	require.Equal(t, 1, configGets(t, admin), "maxmemory read again before maxmemEvery")

	require.NoError(t, b.Delete(ctx, "k"))
	require.NoError(t, admin.ConfigSet(ctx, "maxmemory", "6mb").Err())
	b.maxmemNext.Store(time.Now().UnixNano()) // maxmemEvery later
	require.ErrorIs(t, b.Set(ctx, "k", big, time.Hour), backend.ErrValueTooLarge)
	require.Equal(t, 2, configGets(t, admin))
}
