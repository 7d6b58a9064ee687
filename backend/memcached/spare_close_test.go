//go:build !plan9

package memcached

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Regression: a get whose parked connection was under its resync when the
// Store closed (Close closes it; the reply to version may have come
// already) found no spare and dialed its server after Close: a server gone
// by then failed the get with the dial's error ("connection refused"), not
// backend.ErrClosed, and counted against the server's health; a server
// still there had a connection opened and closed for nothing. A Store
// closed under the resync now dials nothing, and the get fails with
// backend.ErrClosed.
func TestResyncUnderCloseFailsWithErrClosed(t *testing.T) {
	for _, tc := range []struct {
		name        string
		closeBefore bool // Close before the version reply is written, or after
	}{
		{"closed before the reply", true},
		{"closed after the reply", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s *Store
			addr := fakeServer(t, func(c net.Conn) {
				r := bufio.NewReader(c)
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					f := strings.Fields(line)
					switch {
					case len(f) == 1 && f[0] == "version":
						if tc.closeBefore {
							assert.NoError(t, s.Close())
						}
						_, _ = c.Write([]byte("VERSION 1.6.0-fake\r\n"))
						if !tc.closeBefore {
							assert.NoError(t, s.Close())
						}
					case len(f) == 2 && f[0] == "gets" && strings.HasSuffix(f[1], ":broken"):
						_, _ = c.Write([]byte("SERVER_ERROR x\r\n"))
					default:
						_, _ = c.Write([]byte("ERROR\r\n"))
					}
				}
			})
			s, _ = fakeStore(t, addr)
			var lateDials atomic.Int64
			s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if s.closed.Load() { // the server is gone by now
					lateDials.Add(1)
					return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
				}
				var d net.Dialer
				return d.DialContext(ctx, network, addr)
			}
			ctx := context.Background()
			_, err := s.Get(ctx, "broken")
			require.ErrorContains(t, err, "SERVER_ERROR x")
			_, err = s.Get(ctx, "k") // takes the parked connection: its resync runs into Close
			assert.True(t, errors.Is(err, backend.ErrClosed), "a get under Close: %v", err)
			assert.Zero(t, lateDials.Load(), "dials after Close")
		})
	}
}
