//go:build unix

package memcached

import (
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// Regression: the check before a request on a pooled connection (see
// healthConn.peek) allocated twice when it found bytes waiting on a Unix
// socket: syscall.Recvfrom returns the sender's address, which it
// allocates for a Unix socket (none for TCP). The peek now asks for none,
// where it makes the system call itself (see peekSocket).
func TestPeekFindingBytesAllocatesNothing(t *testing.T) {
	if raceOn {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	dir, err := os.MkdirTemp("", "mc") // short: a socket path has at most 104 bytes
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	for _, tc := range []struct{ network, addr string }{
		{"unix", filepath.Join(dir, "s")},
		{"tcp", "127.0.0.1:0"},
	} {
		t.Run(tc.network, func(t *testing.T) {
			ln, err := net.Listen(tc.network, tc.addr)
			require.NoError(t, err)
			defer ln.Close()
			written := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err == nil {
					_, _ = c.Write([]byte("END\r\n")) // a reply come late
				}
				written <- c
			}()
			c, err := net.Dial(tc.network, ln.Addr().String())
			require.NoError(t, err)
			defer c.Close()
			if sc := <-written; sc != nil {
				defer sc.Close()
			}
			hc := &healthConn{Conn: c}
			for hc.peek() != sockUnread { // the bytes on their way
				runtime.Gosched()
			}
			allocs := testutil.AllocsPerRun(100, func() {
				if hc.peek() != sockUnread {
					t.Fatal("the bytes waiting are not found")
				}
			})
			if runtime.GOOS == "linux" && runtime.GOARCH != "386" && runtime.GOARCH != "s390x" || tc.network == "tcp" {
				assert.Zero(t, allocs, "allocations of a peek finding bytes")
			}
		})
	}
}
