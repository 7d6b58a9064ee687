package redisstore_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestDeadMasterPipelineDeleteDialsAsBefore stops (refuses every
// connection to) a master of the shared Cluster, seen through a proxy,
// and deletes keys of it and of another master: one pipeline. go-redis's
// Cluster pipeline retries a command whose connection could not be had
// (a refused dial) by itself, NoRetry or not, MaxRedirects+1 tries in
// all, after its back-off; the Store sent the pipeline's failed commands
// again on top of that, up to MaxRedirects times, each again
// MaxRedirects+1 tries: (MaxRedirects+1)² dials of a dead master and as
// many back-offs, where a Delete made MaxRedirects+1 before. The dials of
// the dead master are counted (each of the client's DialerRetries
// attempts is one), against MaxRedirects+1 tries.
func TestDeadMasterPipelineDeleteDialsAsBefore(t *testing.T) {
	bg := context.Background()
	const redirects = 2
	for name, tc := range map[string]struct {
		dialsPerTry int
		store       func(t *testing.T, addrs []string, dialer func(context.Context, string, string) (net.Conn, error), prefix string) *redisstore.Store
	}{
		"the Store's client": {1, func(t *testing.T, addrs []string, dialer func(context.Context, string, string) (net.Conn, error), prefix string) *redisstore.Store {
			return redisstore.Must(redisstore.Options{Prefix: prefix,
				ClientOptions: &redis.UniversalOptions{Addrs: addrs, MaxRedirects: redirects, Dialer: dialer}})
		}},
		"the caller's ClusterClient": {2, func(t *testing.T, addrs []string, dialer func(context.Context, string, string) (net.Conn, error), prefix string) *redisstore.Store {
			cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, MaxRedirects: redirects, Dialer: dialer,
				ContextTimeoutEnabled: true, DialerRetries: 2, DialerRetryTimeout: time.Millisecond,
				MinRetryBackoff: time.Millisecond, MaxRetryBackoff: time.Millisecond})
			t.Cleanup(func() { _ = cc.Close() })
			return redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
		}},
	} {
		t.Run(name, func(t *testing.T) {
			c := onTwoMasters(t)
			p := testutil.StartProxy(t, c.nodes[0], testutil.ProxyOptions{})
			var down atomic.Bool
			var dials atomic.Int32
			dialer := dialerVia(c.nodes[0], p.Addr(), func() {
				if down.Load() {
					dials.Add(1)
				}
			})
			b := tc.store(t, c.addrs, dialer, c.prefix)
			t.Cleanup(func() { _ = b.Close() })
			setEach(t, b, c.keys, "v")
			down.Store(true)
			p.Refuse()
			p.DropAll() // the pooled connections: go-redis drops them unused, a closed one seen
			err := b.Delete(bg, c.keys...)
			require.Error(t, err)
			n, xerr := c.raw.Exists(bg, c.prefix+c.keys[1]).Result()
			require.NoError(t, xerr)
			assert.Zero(t, n, "the live master's key was deleted")
			assert.LessOrEqual(t, int(dials.Load()), (redirects+1)*tc.dialsPerTry, "dials of the dead master by one Delete")
			assert.Positive(t, dials.Load(), "the Delete tried the dead master")
		})
	}
}

// TestClusterReadOnlyMasterTriesAsBefore makes a master of the shared
// Cluster answer READONLY to the commands on one key, as a master that
// came back as a replica does until go-redis reloads the topology. The
// Cluster client's loop tries such a command MaxRedirects+1 times
// (reloading the topology, after its back-off), NoRetry or not; the
// Store retried the READONLY it returned up to MaxRedirects times, each
// try the client's loop again: (MaxRedirects+1)² tries and back-offs per
// call, where go-redis alone made MaxRedirects+1 (Incr and Add, which
// the Store retries itself since go-redis must not, cost as much). The
// tries reaching the master are counted.
func TestClusterReadOnlyMasterTriesAsBefore(t *testing.T) {
	bg := context.Background()
	const redirects = 2
	for name, call := range map[string]func(b *redisstore.Store, k string) error{
		"set":    func(b *redisstore.Store, k string) error { return b.Set(bg, k, []byte("v"), time.Minute) },
		"delete": func(b *redisstore.Store, k string) error { return b.Delete(bg, k) },
		"incr":   func(b *redisstore.Store, k string) error { _, err := b.Incr(bg, k, 1); return err },
		"add": func(b *redisstore.Store, k string) error {
			_, err := b.Add(bg, k, []byte("v"), time.Minute)
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			c := onTwoMasters(t)
			p := readOnlyProxy(t, c.nodes[0], []byte(c.prefix+c.keys[0]))
			b := redisstore.Must(redisstore.Options{Prefix: c.prefix, ClientOptions: &redis.UniversalOptions{
				Addrs: c.addrs, MaxRedirects: redirects, Dialer: dialerVia(c.nodes[0], p.addr, nil),
			}})
			t.Cleanup(func() { _ = b.Close() })
			require.NoError(t, b.Set(bg, c.keys[0], []byte("v"), time.Minute))
			p.on.Store(true)
			err := call(b, c.keys[0])
			require.Error(t, err)
			assert.Contains(t, err.Error(), "READONLY", "the refusal is told")
			assert.Equal(t, int32(redirects+1), p.tries.Load(), "tries of the call on the master answering READONLY")
		})
	}
}
