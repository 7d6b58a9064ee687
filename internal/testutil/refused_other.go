//go:build !unix

package testutil

import (
	"net"
	"strconv"
	"testing"
)

// RefusedAddr returns a loopback address where nothing listens: a port
// free a moment ago (on unix it is held for the test's length).
func RefusedAddr(t testing.TB) string {
	t.Helper()
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(FreePort(t)))
}
