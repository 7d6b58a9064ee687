//go:build !unix

package memcached

import (
	"net"
	"time"
)

// readNow is readNow of readnow_unix.go, which this system lacks: it does
// nothing and returns errCannotReadNow.
func readNow(net.Conn, []byte, time.Time) (int, error) { return 0, errCannotReadNow }

// peek is peek of readnow_unix.go, which this system lacks: it reports
// sockIdle, bytes left unread on the socket and a connection the peer
// closed untold (the request's write or reply tells the latter).
func (c *healthConn) peek() sockState { return sockIdle }
