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
// server after the Store read none guards the writes from then on. Each
// read is two CONFIG GETs: maxmemory and proto-max-bulk-len.
func TestMaxmemoryIsReadAgainAfterAMinute(t *testing.T) {
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	ctx := context.Background()
	// Long timeouts: 3.5 MiB values outlast 500ms on a loaded machine.
	b, err := New(Options{URL: "redis://" + p.Addr + "?read_timeout=10s&write_timeout=10s"})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: p.Addr})
	defer admin.Close()

	big := bytes.Repeat([]byte("x"), 3584<<10) // 3.5 MiB: over a third of 6 MiB
	for range 3 {
		require.NoError(t, b.Set(ctx, "k", big, time.Hour))
	}
	require.Equal(t, 2, configGets(t, admin), "maxmemory read again before maxmemEvery")

	require.NoError(t, b.Delete(ctx, "k"))
	require.NoError(t, admin.ConfigSet(ctx, "maxmemory", "6mb").Err())
	b.maxmemNext.Store(time.Now().UnixNano()) // maxmemEvery later
	require.ErrorIs(t, b.Set(ctx, "k", big, time.Hour), backend.ErrValueTooLarge)
	require.Equal(t, 4, configGets(t, admin))
}

// A server whose CONFIG the Store's user may not run (a managed Redis)
// does not tell its proto-max-bulk-len: the Store assumes Redis's default,
// 512 MiB, and reads maxmemory from INFO. One that may runs CONFIG GET
// tells it.
func TestProtoMaxBulkLenIsReadOrAssumed(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		bulk, mmax int64
	}{
		{"CONFIG", []string{"--proto-max-bulk-len", "2mb", "--maxmemory", "64mb"}, 2 << 20, 64 << 20},
		{"CONFIG refused", []string{"--proto-max-bulk-len", "2mb", "--maxmemory", "64mb",
			"--user", "default", "on", "nopass", "~*", "&*", "+@all", "-config"}, defaultBulkMax, 64 << 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := testutil.StartProcess(t, "redis-server", func(port int) []string {
				return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, tc.args...)
			})
			b, err := New(Options{URL: "redis://" + p.Addr})
			require.NoError(t, err)
			defer b.Close()
			maxmem, bulk := b.serverLimits(context.Background())
			require.Equal(t, tc.bulk, bulk, "proto-max-bulk-len")
			require.Equal(t, tc.mmax, maxmem, "maxmemory")
		})
	}
}
