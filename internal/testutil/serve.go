package testutil

import (
	"net"
	"sync/atomic"
	"testing"
)

// Serve starts a loopback TCP listener that hands each connection it
// accepts to serve, on a goroutine of its own, until the test ends, and
// returns its address and the count of connections accepted: a server
// stand-in that answers as a test needs.
func Serve(t testing.TB, serve func(net.Conn)) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	accepts := new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepts.Add(1)
			go serve(c)
		}
	}()
	return ln.Addr().String(), accepts
}
