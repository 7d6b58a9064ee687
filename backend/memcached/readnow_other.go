//go:build !unix

package memcached

import (
	"net"
	"time"
)

// readNow is readNow of readnow_unix.go, which this system lacks: it does
// nothing and returns errCannotReadNow.
func readNow(net.Conn, []byte, time.Time) (int, error) { return 0, errCannotReadNow }
