package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// The helpers of the tests that put a master of the shared Cluster
// behind a proxy: a client whose Dialer sends that master's connections
// to the proxy, and the proxy's ways of refusing a retry.

// rawCluster returns a client on the shared Cluster at addrs, straight to
// its masters, closed at the test's end.
func rawCluster(t *testing.T, addrs []string) *redis.ClusterClient {
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

// dialerVia returns a Dialer that connects to proxy in place of node, and
// to any other address as it is; dialing, when not nil, is called before
// each dial of node.
func dialerVia(node, proxy string, dialing func()) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, to string) (net.Conn, error) {
		if to == node {
			if dialing != nil {
				dialing()
			}
			to = proxy
		}
		var d net.Dialer
		return d.DialContext(ctx, network, to)
	}
}

// storeVia returns a Store under prefix on a ClusterClient of its own
// (the caller's client, as a user passes one) on the Cluster at addrs,
// whose connections to node go to proxy; both are closed at the test's
// end.
func storeVia(t *testing.T, addrs []string, node, proxy, prefix string) *redisstore.Store {
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: addrs, ContextTimeoutEnabled: true, Dialer: dialerVia(node, proxy, nil),
	})
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// refusalsAfterLanding are the ways a master seen through a proxy refuses
// the retry of a command whose first try landed (the proxy, once armed,
// lets the next request that holds marker through and loses its reply
// with its connection): its connections ("refused"), or the command with
// LOADING, as a master restarting answers ("loading"). told is what the
// refusal's text holds.
var refusalsAfterLanding = map[string]struct {
	proxy func(t *testing.T, target string, marker []byte) (addr string, arm func())
	told  string
}{
	"refused": {func(t *testing.T, target string, marker []byte) (string, func()) {
		p := testutil.StartRestartingProxy(t, target, marker)
		return p.Addr(), p.Arm
	}, "refused"},
	"loading": {loadingProxy, "LOADING"},
}

// twoMasters is where a test that puts a master of the shared Cluster
// behind a proxy starts (onTwoMasters): the Cluster's addresses, a client
// straight to its masters, a namespace of the test's own, two keys in it
// on two masters, and those masters' addresses (nodes[0]: the one to put
// behind the proxy).
type twoMasters struct {
	addrs, keys, nodes []string
	raw                *redis.ClusterClient
	prefix             string
}

// onTwoMasters returns where a test on two masters of the shared Cluster
// starts.
func onTwoMasters(t *testing.T) twoMasters {
	t.Helper()
	c := twoMasters{addrs: testutil.RedisClusterAddrs(t), prefix: uniquePrefix(t)}
	c.raw = rawCluster(t, c.addrs)
	c.keys, c.nodes = keysOfTwoMasters(t, c.raw, c.prefix)
	return c
}

// setEach sets each of keys to v through b, for a minute.
func setEach(t *testing.T, b *redisstore.Store, keys []string, v string) {
	t.Helper()
	for _, k := range keys {
		require.NoError(t, b.Set(context.Background(), k, []byte(v), time.Minute))
	}
}

// keysOfTwoMasters returns two keys, under prefix, of two masters of c,
// and the addresses of those masters.
func keysOfTwoMasters(t *testing.T, c *redis.ClusterClient, prefix string) (keys, nodes []string) {
	t.Helper()
	for i := 0; len(keys) < 2 && i < 1000; i++ {
		k := fmt.Sprintf("lease-%d", i)
		m, err := c.MasterForKey(context.Background(), prefix+k)
		require.NoError(t, err)
		if len(nodes) == 0 || m.Options().Addr != nodes[0] {
			keys = append(keys, k)
			nodes = append(nodes, m.Options().Addr)
		}
	}
	require.Len(t, keys, 2, "two keys of two masters")
	return keys, nodes
}

// loadingProxy starts a proxy in front of target that, once armed, lets
// the next request that contains marker through and loses its reply with
// its connection, and answers every later one with LOADING, as a server
// that restarted and reads its data set.
func loadingProxy(t *testing.T, target string, marker []byte) (string, func()) {
	return lossProxy(t, target, marker, []byte("-LOADING Redis is loading the dataset in memory\r\n"))
}

// dropOnceProxy starts a proxy in front of target that, once armed, lets
// the next request that contains marker through and loses its reply with
// its connection; new connections are served.
func dropOnceProxy(t *testing.T, target string, marker []byte) (string, func()) {
	return lossProxy(t, target, marker, nil)
}

// lossProxy starts a proxy in front of target, and returns its address
// and its arm: once armed, it lets the next request that contains marker
// through and loses its reply with its connection; after that, it answers
// every later request that contains marker with after, or serves it when
// after is nil (and can be armed again).
func lossProxy(t *testing.T, target string, marker, after []byte) (string, func()) {
	var p *testutil.Proxy
	var armed, lost atomic.Bool
	p = testutil.StartProxy(t, target, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		switch {
		case !bytes.Contains(chunk, marker):
		case after != nil && lost.Load():
			return after
		case armed.CompareAndSwap(true, false):
			p.DropReply(1)
			lost.Store(true)
		}
		return nil
	}})
	return p.Addr(), func() { armed.Store(true) }
}

// readOnlyMaster is a proxy in front of a master that, while on is set,
// answers every request that contains its marker with READONLY, as a
// master demoted by a failover does until go-redis reloads its view of the
// Cluster, and counts those answers (tries).
type readOnlyMaster struct {
	addr  string
	on    atomic.Bool
	tries atomic.Int32
}

// readOnlyProxy starts a readOnlyMaster in front of target, off, for the
// requests that contain marker.
func readOnlyProxy(t *testing.T, target string, marker []byte) *readOnlyMaster {
	m := &readOnlyMaster{}
	p := testutil.StartProxy(t, target, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if m.on.Load() && bytes.Contains(chunk, marker) {
			m.tries.Add(1)
			return []byte("-READONLY You can't write against a read only replica.\r\n")
		}
		return nil
	}})
	m.addr = p.Addr()
	return m
}
