package memcached_test

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// listenServing returns the address of a loopback listener that hands each
// connection it accepts to serve, and the count of connections accepted.
func listenServing(t *testing.T, serve func(net.Conn)) (string, *atomic.Int64) {
	return testutil.Serve(t, serve)
}

// answerEach answers each read of c with line, until c fails.
func answerEach(line string) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
			if _, err := c.Write([]byte(line)); err != nil {
				return
			}
		}
	}
}

// getKeysOfServer1 makes 50 Gets of keys on server 1 of a Store of the live
// memcached and addr, and returns how many were refused as server down and
// how many failed otherwise, and the last error.
func getKeysOfServer1(t *testing.T, live, addr string) (refused, failed int, last error) {
	t.Helper()
	ns := namespaceOn(0) // the generation on the live server
	s := open(t, memcached.Options{Servers: []string{live, addr}, Namespace: ns})
	_, _ = s.Get(bg, "first") // reads (makes) the generation, on the live server
	for _, k := range keysOn(t, live, ns, 1, 50) {
		_, err := s.Get(bg, k)
		require.Error(t, err)
		last = err
		if errors.Is(err, backend.ErrServerDown) {
			refused++
		} else {
			failed++
		}
	}
	return refused, failed, last
}

// Regression: a server that fails every call while its dials succeed was
// never marked down: every call dialed it (twice, when the connection was
// dropped: that was taken for a restart and retried), and every failure
// wrapped no backend.ErrServerDown, so that the caching package's circuit
// breaker counted them against the whole Store and opened for the keys of
// the servers that work too: the case the server-down marking exists for
// (found by review-stores). Such servers: a TCP proxy (haproxy, Envoy,
// twemproxy) that accepts and closes, its memcached gone; memcached past its
// connection limit, which writes "ERROR Too many open connections" and
// closes. Each is now marked down after 3 failures in a row, and its keys
// refused at once, dialing nothing.
func TestFailingServerWhoseDialsSucceedIsMarkedDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	for _, tc := range []struct {
		name  string
		serve func(net.Conn)
	}{
		{"accept then close", func(c net.Conn) { c.Close() }},
		{"too many connections", func(c net.Conn) {
			_, _ = c.Write([]byte("ERROR Too many open connections\r\n"))
			c.Close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, accepts := listenServing(t, tc.serve)
			refused, failed, last := getKeysOfServer1(t, live, addr)
			t.Logf("%d calls: %d refused as server down, %d failed (last: %v), %d connections accepted",
				refused+failed, refused, failed, last, accepts.Load())
			require.LessOrEqual(t, failed, 3, "calls failed with an error the breaker counts after the server should have been marked down")
			require.LessOrEqual(t, accepts.Load(), int64(6), "calls kept dialing a server that fails every call")
		})
	}
}

// A server that refuses an item (no memory for it, too large) or a request
// (CLIENT_ERROR, ERROR) answers: such replies mark it up, never down. (A
// proxy answering "SERVER_ERROR ..." to everything, its upstreams dead, is
// marked down after a second of it: see TestProxyOfDeadUpstreamsIsMarkedDown;
// its errors for some keys only never: TestProxyOfOneDeadUpstreamStaysUp.)
func TestItemRefusalsDoNotMarkTheServerDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	for _, line := range []string{
		"SERVER_ERROR out of memory storing object\r\n",
		"SERVER_ERROR object too large for cache\r\n",
		"CLIENT_ERROR bad command line format\r\n",
		"ERROR\r\n",
	} {
		t.Run(line[:len(line)-2], func(t *testing.T) {
			addr, _ := listenServing(t, answerEach(line))
			refused, _, last := getKeysOfServer1(t, live, addr)
			require.Zero(t, refused, "a server refusing items was marked down (last: %v)", last)
		})
	}
}
