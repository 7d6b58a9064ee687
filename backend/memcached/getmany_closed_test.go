package memcached

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// signalConn is a connection whose Close closes closed.
type signalConn struct {
	net.Conn
	once   sync.Once
	closed chan struct{}
}

func (c *signalConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}

// Regression: a Store closed during a GetMany over two servers, while
// the other server lost its connection, returned the keys of the server
// whose connection Close refused as misses, with no error: that refusal
// recorded no loss, so the GetMany took that server's part as answered
// whole. A GetMany the Store's Close cut short now fails with
// backend.ErrClosed, as the package doc says.
func TestGetManyClosedMidwayIsNotMisses(t *testing.T) {
	s, _ := scriptServers(t,
		func(k []string) string { return values(k, true) },
		func(k []string) string { return values(k, false) }, // every value, then a close
	)
	lost := make(chan struct{})
	dial := s.dial
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		if addr == s.servers.addrs[0].String() {
			<-lost // the other server's connection is gone
			// On GetMulti's goroutine for the server: assert, as FailNow
			// ends only the test's own goroutine.
			assert.NoError(t, s.Close())
		}
		c, err := dial(ctx, network, addr)
		if err == nil && addr == s.servers.addrs[1].String() {
			c = &signalConn{Conn: c, closed: lost}
		}
		return c, err
	}
	keys := append(keysOn(s, 0, 2), keysOn(s, 1, 2)...)
	vals, err := s.GetMany(context.Background(), keys)
	require.ErrorIs(t, err, backend.ErrClosed, "values %q", vals)
	assert.Nil(t, vals)
}
