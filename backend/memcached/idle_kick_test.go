//go:build unix

package memcached

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// peerClosed reports how many open connections of s the server closed
// (see peekEach: the end of the stream, or a reset), and how many are
// open.
func peerClosed(t *testing.T, s *Store) (closed, open int) {
	peekEach(t, s, func(n int, err error) {
		open++
		if err == nil && n == 0 || err == syscall.ECONNRESET {
			closed++
		}
	})
	return closed, open
}

// kickedStore returns a Store of the one server addr (a memcached started
// with -o idle_timeout) whose pool holds conns connections, each opened by
// a Set of key of its own, at once, and each closed since by the server as
// idle; and the Store's dial count.
func kickedStore(t *testing.T, addr, key string, conns int64) (*Store, func() int64) {
	s, err := New(Options{Servers: []string{addr}, Namespace: "idlekick", GenerationTTL: time.Hour, Timeout: 10 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	var dials atomic.Int64
	all := make(chan struct{})
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		// The first conns dials wait for each other: each Set below
		// has a connection of its own.
		if n := dials.Add(1); n == conns {
			close(all)
		} else if n < conns {
			select {
			case <-all:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() { assert.NoError(t, s.Set(context.Background(), key, []byte("1"), time.Hour)) })
	}
	wg.Wait()
	require.Equal(t, conns, dials.Load(), "dials")
	require.Eventually(t, func() bool {
		closed, open := peerClosed(t, s)
		return open == int(conns) && closed == open
	}, 60*time.Second, 50*time.Millisecond, "memcached's idle_timeout closing the pooled connections")
	return s, dials.Load
}

// Regression: a pooled connection the server had closed (memcached's
// idle_timeout, a restart, a proxy closing idle clients) was written on:
// the request failed with EOF, after which Get, GetMany, Set and Delete
// tried once more only, on the next closed connection in the pool, and
// failed; Add, Incr and Clear (a counter, never sent twice) did not try
// again at all. The check before a request on a pooled connection now
// tells a connection the server closed (its peek reads the end of the
// stream): nothing is written, and every call goes on another
// connection, as after a connection out of step.
func TestIdleKickedConnectionsAreNotWrittenOn(t *testing.T) {
	p := testutil.StartProcess(t, "memcached", func(port int) []string {
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16", "-o", "idle_timeout=1"}
	})
	ctx := context.Background()
	calls := map[string]func(s *Store, key string) error{
		"Get": func(s *Store, key string) error {
			v, err := s.Get(ctx, key)
			if err == nil && string(v) != "1" {
				t.Errorf("Get = %q, want 1", v)
			}
			return err
		},
		"GetMany": func(s *Store, key string) error {
			v, err := s.GetMany(ctx, []string{key})
			if err == nil && string(v[0]) != "1" {
				t.Errorf("GetMany = %q, want 1", v)
			}
			return err
		},
		"Set":    func(s *Store, key string) error { return s.Set(ctx, key, []byte("2"), time.Hour) },
		"Delete": func(s *Store, key string) error { return s.Delete(ctx, key) },
		"Add": func(s *Store, key string) error {
			_, err := s.Add(ctx, key+":new", []byte("1"), time.Hour)
			return err
		},
		"Incr": func(s *Store, key string) error {
			n, err := s.Incr(ctx, key, 1)
			if err == nil && n != 2 {
				t.Errorf("Incr = %d, want 2 (sent once)", n)
			}
			return err
		},
		"Clear": func(s *Store, _ string) error { return s.Clear(ctx) },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, dials := kickedStore(t, p.Addr, name, 3)
			assert.NoError(t, call(s, name), "the call with every pooled connection closed by the server")
			assert.Equal(t, int64(4), dials(), "dials")
		})
	}
}
