package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// missOK is err, nil for a miss.
func missOK(err error) error {
	if errors.Is(err, backend.ErrNotFound) {
		return nil
	}
	return err
}

// watchedConn counts its closes in closes, and reads one byte at a time
// when split is set: every reply split at every byte.
type watchedConn struct {
	net.Conn
	split  bool
	closes *atomic.Int64
}

func (c watchedConn) Read(p []byte) (int, error) {
	if c.split {
		p = p[:min(len(p), 1)]
	}
	return c.Conn.Read(p)
}

// SyscallConn is the socket's, for the check of bytes left unread on it
// before a request (see healthConn.unread): a sound server must leave
// none.
func (c watchedConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}

func (c watchedConn) Close() error {
	c.closes.Add(1)
	return c.Conn.Close()
}

// watchDials has s dial watchedConns, and returns the count of its dials
// and of their connections' closes.
func watchDials(s *Store, split bool) (dials, closes *atomic.Int64) {
	dials, closes = new(atomic.Int64), new(atomic.Int64)
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return watchedConn{c, split, closes}, nil
	}
	return dials, closes
}

// outOfStepConns counts the Store's open connections that are marked out
// of step, or would be at their next request (see healthConn.Write). Call
// it with no call of the Store under way. A connection marked at a
// request's write is closed at once (see watchedConn).
func outOfStepConns(s *Store) int {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	n := 0
	for tc := range s.conns.open {
		hc, ok := tc.Conn.(*healthConn)
		if ok && (hc.frame.stray || hc.begun &&
			(hc.frame.ends-hc.endsAt > 1 || hc.frame.state != frameLine || hc.frame.line != 0)) {
			n++
		}
	}
	return n
}

// A sound memcached never has a connection marked out of step (which
// costs the call that takes it a retry, and a dial): every command the
// Store sends, its replies read whole or a byte at a time, gets of keys
// asked twice, of 250-byte keys (and longer, hashed), of values whose data
// holds reply lines, of values over MaxItemSize (skipped), multi-gets of
// both servers' keys and of batches of 1000. No connection is marked, nor
// closed (but after incr's CLIENT_ERROR, which gomemcache closes it on).
func TestSoundServerMarksNoConnection(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ctx := context.Background()
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprint("split=", split), func(t *testing.T) {
			ns := fmt.Sprintf("nofalsemark%d", time.Now().UnixNano())
			big, err := New(Options{Servers: addrs, Namespace: ns, MaxItemSize: 64 << 10})
			require.NoError(t, err)
			t.Cleanup(func() { big.Close() })
			s, err := New(Options{Servers: addrs, Namespace: ns, MaxItemSize: 4 << 10, Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			_, closes := watchDials(s, split)
			p, err := s.prefix(context.Background())
			require.NoError(t, err)
			long := strings.Repeat("l", maxKeyLen-len(p)) // a memcached key of 250 bytes
			require.Len(t, storeKey(p, long), maxKeyLen)
			hashed := strings.Repeat("h", 400)
			evil := "END\r\nVALUE " + ns + ":1:a 0 5 1\r\nevil!\r\nEND\r\nSTORED\r\n"
			steps := []struct {
				name string
				do   func() error
			}{
				{"set", func() error { return s.Set(ctx, "a", []byte(evil), time.Hour) }},
				{"get", func() error {
					v, err := s.Get(ctx, "a")
					assert.Equal(t, evil, string(v))
					return err
				}},
				{"get miss", func() error { _, err := s.Get(ctx, "none"); return missOK(err) }},
				{"set long", func() error { return s.Set(ctx, long, []byte("L"), time.Hour) }},
				{"set hashed", func() error { return s.Set(ctx, hashed, []byte("H"), time.Hour) }},
				{"get long", func() error { _, err := s.Get(ctx, long); return err }},
				{"over item", func() error { return big.Set(ctx, "over", make([]byte, 8<<10), time.Hour) }},
				{"get over item", func() error {
					if _, err := s.Get(ctx, "over"); err == nil {
						return fmt.Errorf("a value over MaxItemSize read")
					}
					return nil
				}},
				{"getmany", func() error {
					keys := []string{"a", long, "a", hashed, "none", "over", long}
					for i := range 20 {
						keys = append(keys, "k"+strconv.Itoa(i))
					}
					_, err := s.GetMany(ctx, keys)
					if errors.Is(err, backend.ErrKeyRefused) {
						return nil // "over"
					}
					return err
				}},
				{"getmany batches", func() error {
					keys := make([]string, 2500)
					for i := range keys {
						keys[i] = fmt.Sprintf("batch-%d-%s", i, strings.Repeat("b", 40))
					}
					_, err := s.GetMany(ctx, keys)
					return err
				}},
				{"add", func() error { _, err := s.Add(ctx, "added", []byte("x"), time.Hour); return err }},
				{"add existing", func() error { _, err := s.Add(ctx, "added", []byte("x"), time.Hour); return err }},
				{"incr", func() error { _, err := s.Incr(ctx, "n", 5); return err }},
				{"decr", func() error { _, err := s.Incr(ctx, "n", -2); return err }},
				{"incr not a number", func() error { _, _ = s.Incr(ctx, "a", 1); return nil }},
				{"set too large", func() error { _ = s.Set(ctx, "huge", make([]byte, 8<<10), time.Hour); return nil }},
				{"delete", func() error { return s.Delete(ctx, "a", "none", long, hashed, "added", "n") }},
				{"deletecount", func() error { _, err := s.DeleteCount(ctx, "k1", "k2", "over"); return err }},
				{"clear", func() error { return s.Clear(ctx) }},
				{"get after clear", func() error { _, err := s.Get(ctx, "a"); return missOK(err) }},
			}
			for _, st := range steps {
				n := closes.Load()
				require.NoError(t, st.do(), st.name)
				require.Zero(t, outOfStepConns(s), "connections marked out of step after %s", st.name)
				if st.name != "incr not a number" { // CLIENT_ERROR: gomemcache closes the connection
					require.Equal(t, n, closes.Load(), "connections closed by %s (a marked one fails its write, and is closed)", st.name)
				}
			}
		})
	}
}

// Nor does a sound proxy (mcrouter, twemproxy) whose upstream of some keys
// is dead: a get of such a key refused with an error line, the rest of
// its reply (END) sent late, the connection parked and taken again after
// its version command; a delete refused so; a multi-get answered in
// another order than its keys', a key asked twice answered once.
func TestSoundProxyMarksNoConnection(t *testing.T) {
	ctx := context.Background()
	for _, split := range []bool{false, true} {
		t.Run(fmt.Sprint("split=", split), func(t *testing.T) {
			addr := lateServer(t, func(f []string) (reply, late string) {
				switch {
				case len(f) == 2 && f[1] == "fake:gen":
					return "VALUE fake:gen 0 1 1\r\n1\r\nEND\r\n", ""
				case len(f) == 2 && strings.HasSuffix(f[1], ":dead") && f[0] == "gets":
					return "SERVER_ERROR upstream down\r\n", "END\r\n"
				case len(f) == 2 && strings.HasSuffix(f[1], ":dead"):
					return "SERVER_ERROR upstream down\r\n", ""
				case len(f) >= 2 && f[0] == "gets":
					keys := slices.Compact(slices.Sorted(slices.Values(f[1:])))
					slices.Reverse(keys)
					return valuesOf(keys), ""
				case len(f) == 2 && f[0] == "delete":
					return "DELETED\r\n", ""
				case len(f) == 1 && f[0] == "version":
					return "VERSION 1.6.0-fake\r\n", ""
				}
				return "ERROR\r\n", ""
			})
			s, _ := fakeStore(t, addr)
			dials, closes := watchDials(s, split)
			refused := func(err error) error {
				if errors.Is(err, backend.ErrKeyRefused) || err != nil && strings.Contains(err.Error(), "SERVER_ERROR") {
					return nil
				}
				return fmt.Errorf("not refused: %v", err)
			}
			steps := []struct {
				name string
				do   func() error
			}{
				{"get", func() error { _, err := s.Get(ctx, "live"); return err }},
				{"get dead", func() error { _, err := s.Get(ctx, "dead"); return refused(err) }},
				{"get after", func() error { _, err := s.Get(ctx, "live"); return err }},
				{"get dead again", func() error { _, err := s.Get(ctx, "dead"); return refused(err) }},
				{"delete dead", func() error { return refused(s.Delete(ctx, "dead")) }},
				{"delete", func() error { return s.Delete(ctx, "live") }},
				{"getmany", func() error {
					m, err := s.GetMany(ctx, []string{"a", "b", "c", "a", "d"})
					assert.Equal(t, "fake:1:b", string(m[1]))
					return err
				}},
				{"get last", func() error { _, err := s.Get(ctx, "live"); return err }},
			}
			for _, st := range steps {
				require.NoError(t, st.do(), st.name)
				require.Zero(t, outOfStepConns(s), "connections marked out of step after %s", st.name)
				require.Zero(t, closes.Load(), "connections closed after %s", st.name)
			}
			assert.Equal(t, int64(1), dials.Load(), "dials")
		})
	}
}
