//go:build unix

package memcached

import (
	"errors"
	"io"
	"net"
	"syscall"
	"time"
)

// readNow reads into p what has arrived on c already, without waiting, and
// then sets c's read deadline to deadline: n > 0 for data, 0 and no error
// when nothing has arrived, io.EOF when the peer closed c, and
// errCannotReadNow, having done nothing, when c is not a socket it can read
// so (a connection a test wraps). c's read deadline is cleared for the
// read: one that has passed fails a read before it is tried.
func readNow(c net.Conn, p []byte, deadline time.Time) (int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok || len(p) == 0 {
		return 0, errCannotReadNow
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, errCannotReadNow
	}
	if err := c.SetReadDeadline(time.Time{}); err != nil {
		return 0, err
	}
	defer func() { _ = c.SetReadDeadline(deadline) }()
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), p)
		return true // whatever it read: never wait
	})
	switch {
	case err != nil:
		return 0, err
	case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
		return 0, nil
	case rerr != nil:
		return 0, rerr
	case n <= 0:
		return 0, io.EOF
	}
	return n, nil
}

// peek reports what waits on c's socket, unread, when a request starts on
// it, without reading it or waiting (recvfrom with MSG_PEEK, on a socket
// Go keeps non-blocking): sockUnread for bytes that no read of c took;
// sockClosed when the peer closed the connection (the end of the stream)
// or reset it; and sockIdle when nothing waits, when the peek fails
// otherwise (its read deadline passed, say: the request's write or reply
// tells), and for a connection that is no socket (a connection a test
// wraps). The raw connection and the peek's function are made once, at the
// first check, so that a check allocates nothing (but where peekSocket
// says otherwise).
func (c *healthConn) peek() sockState {
	if c.raw == nil {
		if c.noPeek {
			return sockIdle
		}
		sc, ok := c.Conn.(syscall.Conn)
		if !ok {
			c.noPeek = true
			return sockIdle
		}
		rc, err := sc.SyscallConn()
		if err != nil {
			c.noPeek = true
			return sockIdle
		}
		c.raw, c.peekFD = rc, func(fd uintptr) bool {
			n, err := peekSocket(fd, c.peekBuf[:])
			switch {
			case err == nil && n > 0:
				c.peeked = sockUnread
			case err == nil && n == 0, err == syscall.ECONNRESET:
				c.peeked = sockClosed
			}
			return true // whatever it found: never wait
		}
	}
	c.peeked = sockIdle
	if err := c.raw.Read(c.peekFD); err != nil {
		return sockIdle
	}
	return c.peeked
}
