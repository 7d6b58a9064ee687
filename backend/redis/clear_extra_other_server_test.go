package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// announceAt makes node i of c announce port (its bus port unchanged) and
// waits until the masters that own slots (the first withSlots) list it
// there.
func (c *ownCluster) announceAt(t *testing.T, i, withSlots, port int) {
	t.Helper()
	bg := context.Background()
	require.NoError(t, c.admin[i].ConfigSet(bg, "cluster-announce-bus-port", strconv.Itoa(c.nodes[i].Port+10000)).Err())
	require.NoError(t, c.admin[i].ConfigSet(bg, "cluster-announce-port", strconv.Itoa(port)).Err())
	want := c.ids[i] + " 127.0.0.1:" + strconv.Itoa(port) + "@"
	deadline := time.Now().Add(30 * time.Second)
	for j := 0; j < withSlots; j++ {
		for {
			nodes, err := c.admin[j].ClusterNodes(bg).Result()
			require.NoError(t, err)
			if strings.Contains(nodes, want) {
				break
			}
			require.True(t, time.Now().Before(deadline), "node %d's address did not reach node %d:\n%s", i, j, nodes)
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestClearSkipsExtraMasterWhereAnotherServerAnswers: Clear's doc says an
// extra master (one that owns no slot) "where another server answers" is
// skipped without an error. A slotless master announced at the address of
// a standalone Redis made every Clear fail: the standalone's error reply
// to CLUSTER MYID (cluster support disabled) was asked again and returned,
// as a lost connection is. A server that refuses the client's credentials
// (NOAUTH, WRONGPASS) may be the node itself, in a password change, with
// keys moved to it: Clear fails there, the masters that own slots cleared.
// The watch does not watch such a master and still reports that it
// watches.
func TestClearSkipsExtraMasterWhereAnotherServerAnswers(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	standalone := func(args ...string) *testutil.Process {
		dir := t.TempDir()
		return testutil.StartProcess(t, "redis-server", func(port int) []string {
			return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}, args...)
		})
	}
	plain, locked := standalone(), standalone("--requirepass", "other-secret")
	// The Cluster's nodes have no password: they accept any (nopass).
	noPass := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "otherserver"})
	t.Cleanup(func() { _ = noPass.Close() })
	withPass := redisstore.Must(redisstore.Options{URL: strings.Replace(c.url(""), "://", "://:some-secret@", 1), Prefix: "otherserver"})
	t.Cleanup(func() { _ = withPass.Close() })
	bg := context.Background()

	for _, tc := range []struct {
		name    string
		server  *testutil.Process
		store   *redisstore.Store
		refused bool // the client's credentials: may be the node
	}{
		{"cluster support disabled", plain, noPass, false},
		{"NOAUTH", locked, noPass, true},
		{"WRONGPASS", locked, withPass, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.announceAt(t, 2, 2, tc.server.Port)
			require.NoError(t, tc.store.Set(bg, "k", []byte("v"), time.Minute))
			if err := tc.store.Clear(bg); tc.refused {
				require.Error(t, err, "credentials refused at the extra master's address: it may be the node")
			} else {
				require.NoError(t, err, "another server answers at the extra master's address: skipped, as documented")
			}
			assert.Zero(t, c.keysLeft(t))

			ev := watchStore(t, tc.store)
			ev.waitFor(t, "the watch", watching(true))
			k := c.keyOn(t, tc.store.Prefix(), 0)
			require.NoError(t, tc.store.Set(bg, k, []byte("v"), time.Minute))
			ev.waitFor(t, "a write on a master that owns slots", sawKey(k))
		})
	}

	// What the watch costs the other server: one connection a second at
	// most (its session, failed, retried), as before.
	admin := redis.NewClient(&redis.Options{Addr: locked.Addr, Password: "other-secret", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	conns := func() int {
		info, err := admin.Info(bg, "stats").Result()
		require.NoError(t, err)
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "total_connections_received:"); ok {
				n, err := strconv.Atoi(v)
				require.NoError(t, err)
				return n
			}
		}
		t.Fatal("no total_connections_received in INFO")
		return 0
	}
	ev := watchStore(t, withPass)
	ev.waitFor(t, "the watch", watching(true))
	time.Sleep(2 * time.Second) // the first retries, 10 ms apart and doubling
	// A rate: one a second, and one more at each end of the window, for
	// the window measured (a loaded machine makes it longer than asked).
	before, start := conns(), time.Now()
	time.Sleep(3500 * time.Millisecond)
	n, took := conns()-before, time.Since(start)
	assert.LessOrEqual(t, n, 2+int(took/time.Second), "connections to the other server in %v of one idle watch", took)
}
