//go:build unix

package memcached

import (
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// socketPair returns the two ends of a Unix stream socket pair: what one
// end writes is in the other's receive buffer when Write returns.
func socketPair(t *testing.T) (net.Conn, net.Conn) {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	conns := make([]net.Conn, 2)
	for i, fd := range fds {
		f := os.NewFile(uintptr(fd), "socketpair")
		conns[i], err = net.FileConn(f)
		require.NoError(t, f.Close())
		require.NoError(t, err)
		t.Cleanup(func() { conns[i].Close() })
	}
	return conns[0], conns[1]
}

// Regression: a read whose deadline had passed failed with a timeout, and
// counted against the server's health, though the reply was there to be
// read: a process starved of CPU past the deadline (a GC pause, a loaded
// machine) finds it passed when its goroutine runs, and Go fails the read
// before trying it. healthConn now reads, without waiting, what arrived
// already; only a read that finds nothing is a timeout.
func TestReadPastItsDeadlineTakesTheReplyThatCame(t *testing.T) {
	client, server := socketPair(t)
	l, err := newServerList([]string{"127.0.0.1:11211"})
	require.NoError(t, err)
	h := l.health[0]
	c := &healthConn{Conn: client, h: h}

	_, err = c.Write([]byte("gets k\r\n"))
	require.NoError(t, err)
	_, err = server.Write([]byte("END\r\n"))
	require.NoError(t, err)
	require.NoError(t, c.SetDeadline(time.Now().Add(-time.Second))) // the process ran past it

	buf := make([]byte, 64)
	n, err := c.Read(buf)
	assert.NoError(t, err, "a reply that came before the read")
	assert.Equal(t, "END\r\n", string(buf[:n]))
	assert.Zero(t, h.fails.Load(), "failures counted for a reply that came")

	// Nothing more came: the deadline holds, and the timeout counts.
	_, err = c.Read(buf)
	require.Error(t, err)
	assert.True(t, timeout(err), "a read past its deadline with nothing to read: %v", err)
	assert.Equal(t, int32(1), h.fails.Load(), "failures counted for a read that timed out")
	// Still past its deadline: the late read put it back.
	_, err = c.Read(buf)
	assert.True(t, timeout(err), "a read past its deadline, again: %v", err)
}
