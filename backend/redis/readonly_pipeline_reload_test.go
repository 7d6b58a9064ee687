package redisstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// reloadCounter is a ClusterClient that counts the calls of its
// ReloadState.
type reloadCounter struct {
	*redis.ClusterClient
	reloads atomic.Int32
}

func (c *reloadCounter) ReloadState(ctx context.Context) {
	c.reloads.Add(1)
	c.ClusterClient.ReloadState(ctx)
}

// TestClusterPipelineReadOnlyReloadsTopology makes a master of the shared
// Cluster (behind a proxy) answer READONLY to the commands on one key, as
// a master demoted by a failover does, under a pipelined Delete and a
// SetMany of keys of two masters. go-redis reloads its view of the
// Cluster on a READONLY answer to a command, but not to a pipeline's:
// the Store retried the pipeline's refused command on the same node, up
// to MaxRedirects times, without asking for the view that names the new
// master. It asks the client to reload it (ReloadState) before its retry
// now.
func TestClusterPipelineReadOnlyReloadsTopology(t *testing.T) {
	bg := context.Background()
	for name, call := range map[string]func(b *redisstore.Store, keys []string) error{
		"delete": func(b *redisstore.Store, keys []string) error { return b.Delete(bg, keys...) },
		"setmany": func(b *redisstore.Store, keys []string) error {
			return b.SetMany(bg, []backend.Item{{Key: keys[0], Value: []byte("v")}, {Key: keys[1], Value: []byte("v")}})
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := onTwoMasters(t)
			p := readOnlyProxy(t, c.nodes[0], []byte(c.prefix+c.keys[0]))
			cc := &reloadCounter{ClusterClient: redis.NewClusterClient(&redis.ClusterOptions{
				Addrs: c.addrs, ContextTimeoutEnabled: true, Dialer: dialerVia(c.nodes[0], p.addr, nil),
				MaxRedirects: 2, MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond,
			})}
			t.Cleanup(func() { _ = cc.Close() })
			b := redisstore.Must(redisstore.Options{Client: cc, Prefix: c.prefix})
			t.Cleanup(func() { _ = b.Close() })
			setEach(t, b, c.keys, "v")
			p.on.Store(true)
			err := call(b, c.keys)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "READONLY", "the refusal is told")
			assert.Positive(t, cc.reloads.Load(), "the client was asked to reload its view of the Cluster")
		})
	}
}
