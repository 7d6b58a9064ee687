//go:build unix

package memcached

import (
	"bufio"
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lateCopyServe returns a fake server's serve whose first connection
// answers its first get with its keys' values "new", then, once sendLate
// is closed, writes a second copy of that reply with the value "old" (a
// buggy server or proxy sending a reply again, late), and closes written.
// Every other get, on any connection, is answered "new".
func lateCopyServe(sendLate <-chan struct{}, written chan<- struct{}) func(net.Conn) {
	var conns atomic.Int64
	return func(c net.Conn) {
		first := conns.Add(1) == 1
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			if len(f) < 2 || f[0] != "get" && f[0] != "gets" {
				_, _ = c.Write([]byte("ERROR\r\n"))
				continue
			}
			reply := func(v string) string {
				out := ""
				for _, k := range f[1:] {
					out += "VALUE " + k + " 0 " + strconv.Itoa(len(v)) + " 1\r\n" + v + "\r\n"
				}
				return out + "END\r\n"
			}
			if _, err := c.Write([]byte(reply("new"))); err != nil {
				return
			}
			if first {
				first = false
				go func() {
					<-sendLate
					_, _ = c.Write([]byte(reply("old")))
					close(written)
				}()
			}
		}
	}
}

// unixFakeServer is fakeServer on a Unix socket.
func unixFakeServer(t *testing.T, serve func(net.Conn)) string {
	dir, err := os.MkdirTemp("", "mc") // short: a socket path has at most 104 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	ln, err := net.Listen("unix", filepath.Join(dir, "s"))
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				serve(c)
			}()
		}
	}()
	return ln.Addr().String()
}

// peekEach peeks (a peek of the test's own, not waiting) at the socket of
// each open connection of s and calls f with the recvfrom's outcome. Call
// it with no call of the Store under way.
func peekEach(t *testing.T, s *Store, f func(n int, err error)) {
	s.conns.mu.Lock()
	defer s.conns.mu.Unlock()
	for tc := range s.conns.open {
		rc, err := tc.Conn.(*healthConn).Conn.(syscall.Conn).SyscallConn()
		require.NoError(t, err)
		var buf [1]byte
		var n int
		var perr error
		require.NoError(t, rc.Read(func(fd uintptr) bool {
			n, _, perr = syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			return true
		}))
		f(n, perr)
	}
}

// pendingBytes reports whether any open connection of s has bytes
// waiting on its socket, unread (see peekEach).
func pendingBytes(t *testing.T, s *Store) bool {
	pending := false
	peekEach(t, s, func(n int, err error) { pending = pending || err == nil && n > 0 })
	return pending
}

// Regression: a server or proxy that sent a get's reply again, late, in
// a write of its own after the reply was read whole (the connection back
// in gomemcache's pool), had the next get on that connection read the
// copy as its reply: of the same key, so that the check of the reply's
// keys passed, and the value one request old ("old" here). A connection
// with bytes waiting on its socket, unread, now writes no request (see
// healthConn.Write), and the call goes on another connection.
func TestLateReplyCopyIsNotReadAsTheNextReply(t *testing.T) {
	ctx := context.Background()
	calls := map[string]func(s *Store) (string, error){
		"Get": func(s *Store) (string, error) {
			v, err := s.Get(ctx, "k")
			return string(v), err
		},
		"GetMany": func(s *Store) (string, error) {
			v, err := s.GetMany(ctx, []string{"k"})
			if err != nil {
				return "", err
			}
			return string(v[0]), nil
		},
	}
	servers := map[string]func(t *testing.T, serve func(net.Conn)) string{"tcp": fakeServer, "unix": unixFakeServer}
	for network, server := range servers {
		for name, call := range calls {
			t.Run(network+"/"+name, func(t *testing.T) {
				sendLate, written := make(chan struct{}), make(chan struct{})
				s, dials := fakeStore(t, server(t, lateCopyServe(sendLate, written)))
				v, err := call(s)
				require.NoError(t, err)
				require.Equal(t, "new", v)
				close(sendLate)
				<-written
				require.Eventually(t, func() bool { return pendingBytes(t, s) }, 10*time.Second, time.Millisecond,
					"the late copy on the pooled connection's socket")
				v, err = call(s)
				require.NoError(t, err)
				assert.Equal(t, "new", v, "the second call read the late copy of the first's reply")
				assert.Equal(t, int64(2), dials(), "dials")
			})
		}
	}
}

// BenchmarkUnread is the check of bytes left unread that each request on
// a pooled connection starts with (see healthConn.Write), on an idle
// loopback TCP connection: its whole cost, a peek.
func BenchmarkUnread(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(b, err)
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			defer c.Close()
			_, _ = c.Read(make([]byte, 1)) // until the client closes
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(b, err)
	defer c.Close()
	require.NoError(b, c.SetDeadline(time.Now().Add(time.Hour)))
	hc := &healthConn{Conn: c}
	b.ReportAllocs()
	for b.Loop() {
		if hc.peek() != sockIdle {
			b.Fatal("bytes unread on an idle connection")
		}
	}
}
