package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestClusterClearRetriesLostConnection loses, with its connection, the
// reply to one command Clear sends a master of the shared Cluster (seen
// through a proxy): its SCAN, or the pipeline of UNLINKs. go-redis gives
// a Cluster's node clients no retries (its Cluster loop retries, which
// Clear's commands on a node do not go through), and Clear failed where
// one more try, on a new connection, would have done: a server that
// restarted, or a network that reset an idle connection. Both are
// retried now, as the Cluster client retries (MaxRedirects times), and
// Clear deletes the keys of both masters.
func TestClusterClearRetriesLostConnection(t *testing.T) {
	bg := context.Background()
	for name, marker := range map[string]func(prefix, key string) []byte{
		"scan":   func(prefix, _ string) []byte { return []byte("scan") },
		"unlink": func(prefix, key string) []byte { return []byte(prefix + key) },
	} {
		t.Run(name, func(t *testing.T) {
			c := onTwoMasters(t)
			addr, arm := dropOnceProxy(t, c.nodes[0], marker(c.prefix, c.keys[0]))
			b := storeVia(t, c.addrs, c.nodes[0], addr, c.prefix)
			setEach(t, b, c.keys, "v")
			arm()
			require.NoError(t, b.Clear(bg))
			for _, k := range c.keys {
				n, err := c.raw.Exists(bg, c.prefix+k).Result()
				require.NoError(t, err)
				assert.Zero(t, n, "%s was deleted", k)
			}
		})
	}
}

// TestRingClearRetriesLostConnection is
// TestClusterClearRetriesLostConnection for a Ring, whose shards' clients
// go-redis gives no retries either: Clear's SCAN and UNLINK on a shard
// are retried as the Ring retries a command (MaxRetries times).
func TestRingClearRetriesLostConnection(t *testing.T) {
	addr := testutil.RedisAddr(t)
	bg := context.Background()
	for name, marker := range map[string]func(prefix string) []byte{
		"scan":   func(string) []byte { return []byte("scan") },
		"unlink": func(prefix string) []byte { return []byte(prefix + "k") },
	} {
		t.Run(name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			proxy, arm := dropOnceProxy(t, addr, marker(prefix))
			ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": proxy}, DB: 9, ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = ring.Close() })
			b := redisstore.Must(redisstore.Options{Client: ring, Prefix: prefix})
			t.Cleanup(func() { _ = b.Close() })
			require.NoError(t, b.Set(bg, "k", []byte("v"), time.Minute))
			arm()
			require.NoError(t, b.Clear(bg))
			_, err := b.Get(bg, "k")
			assert.ErrorIs(t, err, backend.ErrNotFound, "k was deleted")
		})
	}
}

// TestRingClearFlushesDBRetriesLostConnection is
// TestRingClearRetriesLostConnection for Options.ClearFlushesDB: the
// FLUSHDB Clear sends a Ring's shard (or a Cluster's master), whose client
// go-redis gives no retries, failed Clear with EOF when its reply was
// lost with its connection. It is retried as the SCANs and UNLINKs are.
// The server is a miniredis: a FLUSHDB of the shared Redis would flush
// other tests' keys.
func TestRingClearFlushesDBRetriesLostConnection(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	proxy, arm := dropOnceProxy(t, m.Addr(), []byte("flushdb"))
	ring := redis.NewRing(&redis.RingOptions{Addrs: map[string]string{"a": proxy}, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = ring.Close() })
	b := redisstore.Must(redisstore.Options{Client: ring, ClearFlushesDB: true})
	t.Cleanup(func() { _ = b.Close() })
	m.Set("other", "v")
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), time.Minute)) // a pooled connection
	arm()
	require.NoError(t, b.Clear(ctx(t)))
	assert.False(t, m.Exists("other"), "the database was flushed")
}
