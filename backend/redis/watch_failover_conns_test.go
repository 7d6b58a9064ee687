package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// totalConns returns the server's total_connections_received.
func totalConns(t *testing.T, c *redis.Client) int {
	info, err := c.Info(context.Background(), "stats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "total_connections_received:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no total_connections_received")
	return 0
}

// TestWatchFailoverOpensNoConnectionPerSecond: with no failover at all,
// the watch of a Sentinel failover client opens (and closes) a new
// connection to the master every second (followFailover's probe), TLS
// handshake and all, per process: 1000 processes make 1000 connections a
// second on the master for nothing.
func TestWatchFailoverOpensNoConnectionPerSecond(t *testing.T) {
	master := startRedis(t, "")
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("sentinel monitor own 127.0.0.1 %d 1\n", master.Port)), 0o600))
	sentinel := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1"}
	})
	b := redisstore.Must(redisstore.Options{URL: "redis+sentinel://" + sentinel.Addr + "/own", Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = b.Close() })
	ev := watchStore(t, b)
	ev.waitFor(t, "the watch", watching(true))
	admin := redis.NewClient(&redis.Options{Addr: master.Addr})
	t.Cleanup(func() { _ = admin.Close() })
	before := totalConns(t, admin)
	time.Sleep(5 * time.Second)
	got := totalConns(t, admin) - before
	require.LessOrEqual(t, got, 1, "the idle watch opened %d connections to the master in 5s", got)
}
