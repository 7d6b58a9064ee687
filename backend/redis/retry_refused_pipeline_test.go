package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/connerr"
	"github.com/go-caching/caching/internal/testutil"
)

// TestRetryRefusedAfterLandedClusterPipelineDelete is
// TestRetryRefusedAfterLandedWriteIsNoRefusal for a Delete of keys of
// two masters of a Cluster, sent as one pipeline (one UNLINK per hash
// slot). The first master's connections go through a proxy (the Cluster
// client's Dialer sends them there), which lets the UNLINK reach it and
// loses its reply with its connection; then the master refuses the
// retry: its connection ("refused"), or the command with LOADING, as a
// master restarting answers ("loading"). go-redis kept the lost try's
// EOF over a refused dial, untold, but a LOADING replaced it: the
// Delete failed with the refusal of a server that surely did not run
// it, though its first try landed. The error is now the lost try's,
// the retry's refusal in its text only; the other master's key is
// deleted.
func TestRetryRefusedAfterLandedClusterPipelineDelete(t *testing.T) {
	addrs := testutil.RedisClusterAddrs(t)
	bg := context.Background()
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = raw.Close() })
	for name, refusal := range map[string]struct {
		proxy func(t *testing.T, target string, marker []byte) (addr string, arm func())
		told  string
	}{
		"refused": {func(t *testing.T, target string, marker []byte) (string, func()) {
			p := testutil.StartRestartingProxy(t, target, marker)
			return p.Addr(), p.Arm
		}, "refused"},
		"loading": {loadingProxy, "LOADING"},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			keys, nodes := keysOfTwoMasters(t, raw, prefix)
			addr, arm := refusal.proxy(t, nodes[0], []byte(prefix+keys[0]))
			cc := redis.NewClusterClient(&redis.ClusterOptions{
				Addrs: addrs, ContextTimeoutEnabled: true,
				Dialer: func(ctx context.Context, network, to string) (net.Conn, error) {
					if to == nodes[0] {
						to = addr
					}
					var d net.Dialer
					return d.DialContext(ctx, network, to)
				},
			})
			t.Cleanup(func() { _ = cc.Close() })
			b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
			t.Cleanup(func() { _ = b.Close() })
			for _, k := range keys {
				require.NoError(t, b.Set(bg, k, []byte("h"), time.Minute)) // pooled connections too
			}
			arm()
			err := b.Delete(bg, keys...)
			require.Error(t, err)
			for _, k := range keys {
				n, xerr := raw.Exists(bg, prefix+k).Result()
				require.NoError(t, xerr)
				assert.Zero(t, n, "%s was deleted", k)
			}
			assert.ErrorIs(t, err, io.EOF, "the lost try's error")
			assert.False(t, connerr.Refused(err), "a refusal after a try that landed: %v", err)
			assert.False(t, redis.IsLoadingError(err), "a refusal after a try that landed: %v", err)
			assert.Contains(t, err.Error(), refusal.told, "the retry's refusal is told")
		})
	}
}

// TestRetryRefusedAfterLandedClusterSetMany is
// TestRetryRefusedAfterLandedClusterPipelineDelete for a SetMany of keys
// of two masters (one SET each, in one pipeline), which go-redis alone
// retried: a retry refused with LOADING made the SetMany read as refused
// (nothing stored), though its first try landed, and a refused dial went
// untold. Both values are stored, and the error is the lost try's.
func TestRetryRefusedAfterLandedClusterSetMany(t *testing.T) {
	addrs := testutil.RedisClusterAddrs(t)
	bg := context.Background()
	raw := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = raw.Close() })
	for name, refusal := range map[string]struct {
		proxy func(t *testing.T, target string, marker []byte) (addr string, arm func())
		told  string
	}{
		"refused": {func(t *testing.T, target string, marker []byte) (string, func()) {
			p := testutil.StartRestartingProxy(t, target, marker)
			return p.Addr(), p.Arm
		}, "refused"},
		"loading": {loadingProxy, "LOADING"},
	} {
		t.Run(name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			keys, nodes := keysOfTwoMasters(t, raw, prefix)
			addr, arm := refusal.proxy(t, nodes[0], []byte(prefix+keys[0]))
			cc := redis.NewClusterClient(&redis.ClusterOptions{
				Addrs: addrs, ContextTimeoutEnabled: true,
				Dialer: func(ctx context.Context, network, to string) (net.Conn, error) {
					if to == nodes[0] {
						to = addr
					}
					var d net.Dialer
					return d.DialContext(ctx, network, to)
				},
			})
			t.Cleanup(func() { _ = cc.Close() })
			b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
			t.Cleanup(func() { _ = b.Close() })
			for _, k := range keys {
				require.NoError(t, b.Set(bg, k, []byte("h"), time.Minute)) // pooled connections too
			}
			arm()
			err := b.SetMany(bg, []backend.Item{{Key: keys[0], Value: []byte("x")}, {Key: keys[1], Value: []byte("x")}})
			require.Error(t, err)
			for _, k := range keys {
				v, gerr := raw.Get(bg, prefix+k).Result()
				require.NoError(t, gerr)
				assert.Equal(t, "x", v, "%s was stored", k)
			}
			assert.ErrorIs(t, err, io.EOF, "the lost try's error")
			assert.False(t, connerr.Refused(err), "a refusal after a try that landed: %v", err)
			assert.False(t, redis.IsLoadingError(err), "a refusal after a try that landed: %v", err)
			assert.Contains(t, err.Error(), refusal.told, "the retry's refusal is told")
		})
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
	var p *testutil.Proxy
	var armed, loading atomic.Bool
	p = testutil.StartProxy(t, target, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		switch {
		case !bytes.Contains(chunk, marker):
		case loading.Load():
			return []byte("-LOADING Redis is loading the dataset in memory\r\n")
		case armed.CompareAndSwap(true, false):
			p.DropReply(1)
			loading.Store(true)
		}
		return nil
	}})
	return p.Addr(), func() { armed.Store(true) }
}
