package redisstore_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// nonLoopbackIPv4 returns an IPv4 address of this machine that is not a
// loopback one, or skips the test.
func nonLoopbackIPv4(t *testing.T) string {
	addrs, err := net.InterfaceAddrs()
	require.NoError(t, err)
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address")
	return ""
}

// startAnnouncedLoopbackCluster starts a one-node Cluster (all slots on
// it) that listens on ip only and announces 127.0.0.1, as a Cluster made
// with redis-cli --cluster create 127.0.0.1:... on another host does, seen
// from a client that reaches it by that host's address: go-redis rewrites
// the loopback addresses of CLUSTER SLOTS to the seed's host
// (replaceLoopbackHost). It returns the address to seed with. The server
// is tied to the test binary (testutil.StartProcessAt): started with a
// plain cmd.Start, it outlived a binary killed by -timeout or a panic.
func startAnnouncedLoopbackCluster(t *testing.T) string {
	ip := nonLoopbackIPv4(t)
	dir := t.TempDir()
	// A port (or its bus port, 10000 above) taken since it was found free
	// makes the server exit, and StartProcessAt tries another.
	srv := testutil.StartProcessAt(t, ip, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", ip, "--save", "", "--appendonly", "no",
			"--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes-" + strconv.Itoa(port) + ".conf",
			"--cluster-announce-ip", "127.0.0.1", "--protected-mode", "no"}
	})
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	return clusterOn(t, srv.Addr, admin)
}

// clusterOn gives every slot to the one node at addr and waits until its
// Cluster is ok.
func clusterOn(t *testing.T, addr string, admin *redis.Client) string {
	bg := context.Background()
	require.NoError(t, admin.Do(bg, "cluster", "addslotsrange", 0, 16383).Err())
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, _ := admin.ClusterInfo(bg).Result()
		if strings.Contains(info, "cluster_state:ok") {
			return addr
		}
		require.True(t, time.Now().Before(deadline), "cluster not ok")
		time.Sleep(20 * time.Millisecond)
	}
}

// TestClearClusterAnnouncingLoopback: go-redis reaches the masters
// at the seed's host, CLUSTER NODES lists them at 127.0.0.1; Clear must
// not fail (nor clear whatever listens on 127.0.0.1 at that port on the
// client's host) because forEveryMaster dials the raw CLUSTER NODES
// address as an extra "slotless" master.
func TestClearClusterAnnouncingLoopback(t *testing.T) {
	addr := startAnnouncedLoopbackCluster(t)
	b := redisstore.Must(redisstore.Options{URL: "redis+cluster://" + addr, Prefix: "zzaw:", DialTimeout: time.Second})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), time.Minute))
	require.NoError(t, b.Clear(ctx(t)), "Clear of a healthy one-master Cluster")
}

// TestWatchClusterAnnouncingLoopback: the same Cluster is never
// reported watched: the watch adds 127.0.0.1:port as a master it cannot
// reach, so the near cache stays off for good.
func TestWatchClusterAnnouncingLoopback(t *testing.T) {
	addr := startAnnouncedLoopbackCluster(t)
	b := redisstore.Must(redisstore.Options{URL: "redis+cluster://" + addr, Prefix: "zzaw:", DialTimeout: time.Second})
	t.Cleanup(func() { _ = b.Close() })
	ev := newEvents()
	w, err := b.WatchInvalidations(ev.changed, ev.state)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		ev.mu.Lock()
		on := ev.watching
		ev.mu.Unlock()
		if on {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the watch of a healthy one-master Cluster never reported state(true) in 5s")
}
