package memcached

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Regression: the probe of a server about to be marked down for its error
// replies sent its gets one after the other on one connection. A proxy that
// writes a get's error line, then the rest of that reply, END, in a write
// of its own (mcrouter's ascii server, as spare.go describes it), had the
// late END of the probe's first get read as the reply to its second: a
// miss, a normal reply, and the proxy, its upstreams all dead, was never
// marked down (the probe, a second later, brought it back each time); an
// END in the error line's write, left in the probe's buffer, the same. The
// probe's get after an error reply now goes on a connection of its own,
// which is a parked one only once resync has read the late END.
func TestProbeReadsNoLateEndAsItsReply(t *testing.T) {
	for _, tc := range []struct{ name, reply, late string }{
		{"END in a write of its own", "SERVER_ERROR upstream down\r\n", "END\r\n"},
		{"END in the error line's write", "SERVER_ERROR upstream down\r\nEND\r\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var probes atomic.Int64
			addr := lateServer(t, func(f []string) (reply, late string) {
				switch {
				case len(f) == 2 && (f[0] == "get" || f[0] == "gets"):
					if strings.Contains(f[1], ":probe:") {
						probes.Add(1)
					}
					return tc.reply, tc.late
				case len(f) == 1 && f[0] == "version":
					return "VERSION 1.6.0-fake\r\n", ""
				}
				return "ERROR\r\n", ""
			})
			s, _ := fakeStore(t, addr)
			ctx := context.Background()
			// Refused gets until the probe has run: errorWindow after the
			// first, on the goroutine of the get whose error reply calls for it.
			for i := 0; probes.Load() == 0; i++ {
				_, err := s.Get(ctx, "k")
				require.Error(t, err, "get %d", i)
				var re *refusedError
				if errors.As(err, &re) {
					break
				}
				require.Less(t, i, 10000, "no probe after %d refused gets", i)
				time.Sleep(5 * time.Millisecond)
			}
			// The one server marked down: the Store's refusal, every server down.
			_, err := s.Get(ctx, "k")
			var re *refusedError
			require.ErrorAs(t, err, &re,
				"a server whose every get is refused stays up after its probe (%d probe gets): an END read as the probe's reply", probes.Load())
			require.NotZero(t, s.servers.byAddr[addr].downUntil.Load(), "the server is not marked down")
		})
	}
}

// Regression: since each probe get had a connection of its own (see
// above), a probe of a server whose error replies a connection could not
// be kept after (the rest of the reply in the error line's write, as
// mcrouter may send it, or nothing a parked connection is kept for) dialed
// probeKeys connections, once a second per server marked down. The gets
// now share one connection, a version command sent after each bringing it
// back in step; a server that does not answer version still costs a dial
// per get, as before, and no more.
func TestProbeDialsOnce(t *testing.T) {
	for _, tc := range []struct {
		name, reply, late, version string
		live                       int // the probe get that gets a miss (0: none)
		dials, gets                int64
	}{
		{name: "END in the error line's write", reply: "SERVER_ERROR upstream down\r\nEND\r\n", dials: 1, gets: probeKeys},
		{name: "END in a write of its own", reply: "SERVER_ERROR upstream down\r\n", late: "END\r\n", dials: 1, gets: probeKeys},
		{name: "the error line alone", reply: "SERVER_ERROR upstream down\r\n", dials: 1, gets: probeKeys},
		{name: "the third key's upstream live", reply: "SERVER_ERROR upstream down\r\nEND\r\n", live: 3, dials: 1, gets: 3},
		{name: "no version", reply: "SERVER_ERROR upstream down\r\nEND\r\n", version: "ERROR\r\n", dials: probeKeys, gets: probeKeys},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var gets atomic.Int64
			addr := lateServer(t, func(f []string) (reply, late string) {
				switch {
				case len(f) == 2 && (f[0] == "get" || f[0] == "gets"):
					if gets.Add(1) == int64(tc.live) {
						return "END\r\n", ""
					}
					return tc.reply, tc.late
				case len(f) == 1 && f[0] == "version" && tc.version != "":
					return tc.version, ""
				case len(f) == 1 && f[0] == "version":
					return "VERSION 1.6.0-fake\r\n", ""
				}
				return "ERROR\r\n", ""
			})
			s, dials := fakeStore(t, addr)
			h := s.servers.byAddr[addr]
			h.checking.Store(true) // its error replies call for no probe of their own
			err := s.probe(h)
			if tc.live != 0 {
				require.NoError(t, err, "a normal reply to a probe get")
			} else {
				require.Error(t, err, "every probe get refused")
			}
			require.Equal(t, tc.gets, gets.Load(), "probe gets")
			require.Equal(t, tc.dials, dials(), "dials of one probe")
		})
	}
}

// A server that answers a probe get with an error line, and then neither
// answers the version sent after it nor closes the connection, leaves the
// probe to its deadline, Options.Timeout from its start (see
// probeConn.inStep): the probe fails with that timeout after one get, a
// failure of the server, and makes no more.
func TestProbeOfAServerIgnoringVersionFails(t *testing.T) {
	var gets atomic.Int64
	addr := lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 2 && (f[0] == "get" || f[0] == "gets"):
			gets.Add(1)
			return "SERVER_ERROR upstream down\r\n", ""
		case len(f) == 1 && f[0] == "version":
			return "", "" // never answered, the connection left open
		}
		return "ERROR\r\n", ""
	})
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 2 * time.Second})
	require.NoError(t, err)
	defer s.Close()
	h := s.servers.byAddr[addr]
	h.checking.Store(true) // its error replies call for no probe of their own
	err = s.probe(h)
	require.Error(t, err, "a probe whose version went unanswered")
	require.True(t, timeout(err), "the probe's error is no timeout: %v", err)
	require.Equal(t, int64(1), gets.Load(), "probe gets after a version went unanswered")
	require.NotZero(t, h.fails.Load(), "the unanswered version is no failure of the server")
}
