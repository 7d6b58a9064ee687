package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// assertNodesDoNotRetry checks that the node clients of a Cluster client
// the Store built make one try each, without a back-off: go-redis gives
// them its default back-off (8ms to 512ms) and the Cluster's MaxRetries,
// inside the Cluster's own loop of retries.
func assertNodesDoNotRetry(t *testing.T, cc *redis.ClusterClient, key string) {
	t.Helper()
	n, err := cc.MasterForKey(context.Background(), key)
	require.NoError(t, err)
	o := n.Options()
	assert.LessOrEqual(t, o.MinRetryBackoff, time.Duration(0), "a node client sleeps %v..%v before a retry", o.MinRetryBackoff, o.MaxRetryBackoff)
	assert.LessOrEqual(t, o.MaxRetryBackoff, time.Duration(0), "a node client sleeps up to %v before a retry", o.MaxRetryBackoff)
	assert.LessOrEqual(t, o.MaxRetries, 0, "a node client retries %d times inside the Cluster's own retries (after go-redis's init, 0 is none)", o.MaxRetries)
}

// TestClusterNodeClientsNeitherRetryNorSleep: on the shared Cluster (only
// its options are looked at), built from a URL and from ClientOptions.
func TestClusterNodeClientsNeitherRetryNorSleep(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	for name, opts := range map[string]redisstore.Options{
		"URL":           {URL: "redis+cluster://" + strings.Join(addrs, ",")},
		"ClientOptions": {ClientOptions: &redis.UniversalOptions{Addrs: addrs}},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Prefix = uniquePrefix(t)
			b := redisstore.Must(opts)
			t.Cleanup(func() { _ = b.Close() })
			assertNodesDoNotRetry(t, b.Client().(*redis.ClusterClient), b.Prefix()+"k")
		})
	}
}

// wireCounter is a go-redis hook, for the node clients of a Cluster
// client, that counts, for one node, the commands on a key its client
// was asked to run (the Cluster client's tries), and the requests written
// on its connections whose reply did not come within ReadTimeout (each a
// ReadTimeout spent, be it on a command, a retry of it, or the handshake
// of a new connection).
type wireCounter struct {
	addr     string
	key      string
	tries    atomic.Int32
	timeouts atomic.Int32
}

// count makes every node client that c creates from now on count for w.
func (w *wireCounter) count(c *redis.ClusterClient) {
	c.OnNewNode(func(node *redis.Client) {
		if node.Options().Addr == w.addr {
			node.AddHook(w)
		}
	})
}

func (w *wireCounter) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		if err != nil {
			return c, err
		}
		return &countedConn{Conn: c, w: w}, nil
	}
}

func (w *wireCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if args := cmd.Args(); len(args) > 1 && args[1] == w.key {
			w.tries.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (w *wireCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// countedConn counts one timeout per request written: go-redis may read
// again after the first read that timed out.
type countedConn struct {
	net.Conn
	w       *wireCounter
	waiting atomic.Bool
}

func (c *countedConn) Write(p []byte) (int, error) {
	c.waiting.Store(true)
	return c.Conn.Write(p)
}

func (c *countedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() && c.waiting.Swap(false) {
		c.w.timeouts.Add(1)
	}
	return n, err
}

// TestClusterHungMasterCostsReadTimeoutPerRedirect hangs (SIGSTOP: a frozen
// VM, a network black hole) a master of the test's own Cluster: a Get of
// one of its keys is tried MaxRedirects+1 times on it, each try ended by
// one ReadTimeout (the first on the Get, the next on the handshake of a
// new connection), as the package doc says: ReadTimeout × (MaxRedirects+1)
// in all, where the node clients' own retries had doubled the timeouts.
// The tries and the timeouts are counted on the node's client and its
// connections, not timed.
func TestClusterHungMasterCostsReadTimeoutPerRedirect(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url("max_redirects=1"), Prefix: "hung"})
	t.Cleanup(func() { _ = b.Close() })
	cc := b.Client().(*redis.ClusterClient)
	k := c.keyOn(t, b.Prefix(), 1)
	w := &wireCounter{addr: c.nodes[1].Addr, key: b.Prefix() + k}
	w.count(cc) // before the first command: New contacts no server
	assertNodesDoNotRetry(t, cc, b.Prefix()+"k")
	bg := context.Background()
	require.NoError(t, b.Set(bg, k, []byte("v"), time.Minute))
	require.Equal(t, int32(1), w.tries.Load(), "the Set was not counted on its master's client")

	c.hang(t, 1)

	w.tries.Store(0)
	w.timeouts.Store(0)
	_, err := b.Get(bg, k)
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "the Get failed with %v, not a read timeout", err)
	assert.Equal(t, int32(2), w.tries.Load(), "tries of the Get on the hung master; max_redirects=1 makes two")
	assert.Equal(t, int32(2), w.timeouts.Load(), "ReadTimeouts spent on the hung master; one per try")
}
