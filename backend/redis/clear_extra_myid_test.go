package redisstore_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// lossyConn fails its first write of a CLUSTER MYID when armed, as a lost
// connection would.
type lossyConn struct {
	net.Conn
	armed *atomic.Int64
}

func (c *lossyConn) Write(p []byte) (int, error) {
	if bytes.Contains(bytes.ToLower(p), []byte("myid")) && c.armed.Add(-1) >= 0 {
		_ = c.Conn.Close()
		return 0, errors.New("connection reset by peer (the test's dialer)")
	}
	return c.Conn.Write(p)
}

// TestClearExtraMasterMyIDFailingOnce: acaa063 asks a visited master's
// CLUSTER MYID again when it fails once, because one failure made Clear
// skip the master without a slot and return nil. The extra master's own
// check (isNode) still asks once: one lost connection there and Clear
// returns nil with the keys moved to it left readable.
func TestClearExtraMasterMyIDFailingOnce(t *testing.T) {
	c := startOwnCluster(t, 3, 2)
	addrs := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		addrs[i] = p.Addr
	}
	third := c.nodes[2].Addr
	var armed atomic.Int64
	cc := redis.NewClusterClient(&redis.ClusterOptions{ContextTimeoutEnabled: true, Addrs: addrs,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil || addr != third {
				return conn, err
			}
			return &lossyConn{Conn: conn, armed: &armed}, nil
		}})
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: "azx"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	resharding(t, c, b)

	armed.Store(1) // the next CLUSTER MYID sent to the third master fails
	err := b.Clear(bg)
	if err == nil {
		assert.Zero(t, c.keysLeft(t), "Clear returned nil and left the keys moved to the master without a slot")
	}
}
