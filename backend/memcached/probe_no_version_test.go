package memcached

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// oldTwemproxy starts a fake server that parses each read's request lines
// as twemproxy before 0.5.0 does: a get (or gets) is sent on to an
// upstream, whose reply (answer(key)) is written once the read's lines are
// parsed; any other command is one it does not know ("version" among
// them), on which it closes the connection at once, discarding the
// replies of the requests parsed before it ("close c ... discarding
// pending req"). It returns the server's address and its count of gets.
func oldTwemproxy(t *testing.T, answer func(key string) string) (string, *atomic.Int64) {
	var gets atomic.Int64
	addr := fakeServer(t, func(c net.Conn) {
		var buf []byte
		p := make([]byte, 4096)
		for {
			n, err := c.Read(p)
			if err != nil {
				return
			}
			buf = append(buf, p[:n]...)
			var replies strings.Builder
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				f := strings.Fields(string(buf[:i]))
				buf = buf[i+1:]
				if len(f) < 2 || f[0] != "get" && f[0] != "gets" {
					return // an unsupported command: closed, the pending replies discarded
				}
				gets.Add(1)
				replies.WriteString(answer(f[1]))
			}
			if _, err := c.Write([]byte(replies.String())); err != nil {
				return
			}
		}
	})
	return addr, &gets
}

// Regression: since the probe's gets shared one connection, each was
// sent with a version command in the same write. twemproxy before 0.5.0
// (0.4.1 is what Debian and Ubuntu package) does not know version: it
// closes the connection on it, discarding the reply to the get before it.
// Every probe then failed at its first get, and a twemproxy once marked
// down (a restart, a network blip) stayed down for good, every key behind
// it refused. The version is now sent only after an error reply, once the
// get's first line is read: the get is answered, and a proxy that closes
// on version costs the next get a dial, as before.
func TestProbeOfAProxyWithoutVersion(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dead  int   // the probe gets refused before one is answered
		dials int64 // of the probe
	}{
		{name: "its upstreams live", dead: 0, dials: 1},
		{name: "its first two keys' upstream dead", dead: 2, dials: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			addr, gets := oldTwemproxy(t, func(string) string {
				if n.Add(1) <= int64(tc.dead) {
					return "SERVER_ERROR Connection refused\r\n"
				}
				return "END\r\n"
			})
			s, dials := fakeStore(t, addr)
			h := s.servers.byAddr[addr]
			h.checking.Store(true) // its error replies call for no probe of their own
			require.NoError(t, s.probe(h), "a miss answers the probe")
			assert.Equal(t, int64(tc.dead+1), gets.Load(), "probe gets")
			assert.Equal(t, tc.dials, dials(), "dials of the probe")
		})
	}
}

// The same, end to end: a twemproxy before 0.5.0 marked down is served
// again once its cool-down is over.
func TestOldTwemproxyMarkedDownComesBack(t *testing.T) {
	addr, _ := oldTwemproxy(t, func(string) string { return "END\r\n" })
	s, _ := fakeStore(t, addr)
	h := s.servers.byAddr[addr]
	for range serverDownAfter {
		h.failed(errors.New("a test's failure"))
	}
	require.NotZero(t, h.downUntil.Load(), "marked down")
	h.downUntil.Store(time.Now().Add(-time.Millisecond).UnixNano()) // its cool-down over
	_, err := s.Get(context.Background(), "k")
	var re *refusedError
	require.False(t, errors.As(err, &re), "refused after the cool-down: the probe failed: %v", err)
	require.ErrorIs(t, err, backend.ErrNotFound)
	assert.Zero(t, h.downUntil.Load(), "marked up")
}
