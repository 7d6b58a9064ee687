package redisstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestWatchFollowsSentinelFailover starts a master, a replica and a
// Sentinel of the test's own, and fails the master over: within a few
// seconds a write on the new master reaches the watch. The demoted
// master says "master" to ROLE until Sentinel reconfigures it (~10s), and
// the watch stayed on it all that time.
func TestWatchFollowsSentinelFailover(t *testing.T) {
	t.Parallel()
	master := startRedis(t, "")
	dir := t.TempDir() // where the replica writes the RDB the master sends it
	replica := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--dir", dir, "--replicaof", "127.0.0.1", strconv.Itoa(master.Port)}
	})
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf(
		"sentinel monitor own 127.0.0.1 %d 1\nsentinel down-after-milliseconds own 1000\nsentinel failover-timeout own 5000\n",
		master.Port)), 0o600))
	sentinel := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{conf, "--sentinel", "--port", strconv.Itoa(port), "--bind", "127.0.0.1"}
	})
	bg := context.Background()
	s := redis.NewSentinelClient(&redis.Options{Addr: sentinel.Addr})
	t.Cleanup(func() { _ = s.Close() })
	deadline := time.Now().Add(10 * time.Second)
	for { // Sentinel has found the replica, and the replica is in sync
		r, err := s.Replicas(bg, "own").Result()
		if err == nil && len(r) == 1 && r[0]["master-link-status"] == "ok" {
			break
		}
		require.True(t, time.Now().Before(deadline), "Sentinel did not find the replica: %v %v", r, err)
		time.Sleep(50 * time.Millisecond)
	}

	b := redisstore.Must(redisstore.Options{URL: "redis+sentinel://" + sentinel.Addr + "/own", Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = b.Close() })
	ev := watchStore(t, b)
	ev.waitFor(t, "the watch", watching(true))

	require.NoError(t, s.Failover(bg, "own").Err())
	deadline = time.Now().Add(10 * time.Second)
	for {
		addr, err := s.GetMasterAddrByName(bg, "own").Result()
		if err == nil && addr[1] == strconv.Itoa(replica.Port) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the failover did not happen")
		time.Sleep(50 * time.Millisecond)
	}
	promoted := redis.NewClient(&redis.Options{Addr: replica.Addr})
	t.Cleanup(func() { _ = promoted.Close() })
	// Write on the new master until the watch reports it; the watch gets
	// 3s (its Sentinel check runs every second), well under the ~10s it
	// stayed on the demoted master.
	deadline = time.Now().Add(3 * time.Second)
	for i := 0; ; i++ {
		k := "after" + strconv.Itoa(i)
		require.NoError(t, promoted.Set(bg, b.Prefix()+k, "v", time.Minute).Err())
		time.Sleep(100 * time.Millisecond)
		ev.mu.Lock()
		seen, states := ev.keys[k] > 0, append([]bool(nil), ev.states...)
		ev.mu.Unlock()
		if seen {
			return
		}
		require.True(t, time.Now().Before(deadline), "3s after the failover the watch has reported no write on the new master (states %v)", states)
	}
}
