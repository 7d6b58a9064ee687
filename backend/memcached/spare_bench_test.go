package memcached

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
)

// refusingConn is a connection to a real memcached server whose one-key
// gets of a key ending in ":broken" it answers itself, as a proxy answers
// the keys of an upstream that is down, with a lone error line: the
// request is not sent, and the next read returns the line.
type refusingConn struct {
	net.Conn
	refused bool
}

func (c *refusingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("gets ")) && bytes.HasSuffix(p, []byte(":broken\r\n")) {
		c.refused = true
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *refusingConn) Read(p []byte) (int, error) {
	if c.refused {
		c.refused = false
		return copy(p, "SERVER_ERROR upstream down\r\n"), nil
	}
	return c.Conn.Read(p)
}

// BenchmarkGetAfterRefusal measures, on a real memcached server, the hit
// that follows a get refused with a lone error line (see connSet.park):
// conn=parked takes the refused get's connection back (its resync: one
// version round trip, then the hit), conn=dialed has parking off (the
// connection is closed, as gomemcache closes it: a TCP dial, then the
// hit), and conn=pooled is a hit on a pooled connection with no refusal
// before it. Only the hit is timed; the refused gets, between them, are
// not. Run it with a fixed count (-benchtime 2000x): each dialed op
// leaves a socket in TIME_WAIT for a minute.
func BenchmarkGetAfterRefusal(b *testing.B) {
	addr := testutil.MemcachedAddrs(b)[0]
	s, err := New(Options{Servers: []string{addr}, Namespace: fmt.Sprintf("bpark%d", time.Now().UnixNano()), GenerationTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	var dials atomic.Int64
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &refusingConn{Conn: c}, nil
	}
	ctx := context.Background()
	if err := s.Set(ctx, "k", make([]byte, 1024), time.Hour); err != nil {
		b.Fatal(err)
	}
	hit := func(b *testing.B) {
		if _, err := s.Get(ctx, "k"); err != nil {
			b.Fatal(err)
		}
	}
	refused := func(b *testing.B) {
		b.StopTimer()
		if _, err := s.Get(ctx, "broken"); err == nil {
			b.Fatal("the refused get succeeded")
		}
		b.StartTimer()
	}
	b.Run("conn=pooled", func(b *testing.B) {
		b.ReportAllocs()
		before := dials.Load()
		for range b.N {
			hit(b)
		}
		if n := dials.Load() - before; n > 1 {
			b.Fatalf("%d dials: the hits did not take the pooled connection", n)
		}
	})
	b.Run("conn=parked", func(b *testing.B) {
		b.ReportAllocs()
		before := dials.Load()
		for range b.N {
			refused(b)
			hit(b)
		}
		if n := dials.Load() - before; n > 1 {
			b.Fatalf("%d dials: the hits did not take the parked connection", n)
		}
	})
	b.Run("conn=dialed", func(b *testing.B) {
		s.conns.mu.Lock()
		s.conns.maxSpares = 0 // parking off: the refused get's connection is closed
		s.conns.mu.Unlock()
		b.ReportAllocs()
		before := dials.Load()
		for range b.N {
			refused(b)
			hit(b)
		}
		if n := dials.Load() - before; n < int64(b.N) {
			b.Fatalf("%d dials for %d hits: some took a parked connection", n, b.N)
		}
	})
}
