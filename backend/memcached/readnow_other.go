//go:build !unix

package memcached

import (
	"net"
	"time"
)

// readNow is readNow of readnow_unix.go, which this system lacks: it does
// nothing and returns errCannotReadNow.
func readNow(net.Conn, []byte, time.Time) (int, error) { return 0, errCannotReadNow }

// unread is unread of readnow_unix.go, which this system lacks: it reports
// false, bytes left unread on the socket untold.
func (c *healthConn) unread() bool { return false }
