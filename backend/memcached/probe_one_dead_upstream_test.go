package memcached

import (
	"hash/fnv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// hashProxy starts a fake proxy (see lateServer) in front of two upstreams,
// each get going to the one its key hashes to (FNV-1a, as twemproxy may
// place keys): a get of a key on the dead one, or of any key when allDead,
// is answered with an error line, the others with a miss; a version
// command, after slow. gets counts the gets it is sent.
func hashProxy(t *testing.T, allDead bool, slow time.Duration, gets *atomic.Int64) string {
	return lateServer(t, func(f []string) (reply, late string) {
		switch {
		case len(f) == 2 && (f[0] == "get" || f[0] == "gets"):
			gets.Add(1)
			h := fnv.New32a()
			_, _ = h.Write([]byte(f[1]))
			if allDead || h.Sum32()&1 == 1 {
				return "SERVER_ERROR upstream down\r\nEND\r\n", ""
			}
			return "END\r\n", ""
		case len(f) == 1 && f[0] == "version":
			time.Sleep(slow)
			return "VERSION 1.6.0-fake\r\n", ""
		}
		return "ERROR\r\n", ""
	})
}

// Regression: the probe of a proxy marked down got up to 8 keys, and gave
// up when all 8 were answered with an error. Behind a proxy with one of
// two upstreams dead each key lands on the dead one with p = 1/2: once in
// 256 probes all 8 did, and a proxy serving half its keys stayed marked
// down, every key refused, for another serverRetry. A probe now gets up to
// probeKeys = 32 keys while the replies are errors, once in 2^32 probes.
//
// The probe of a proxy whose every reply is an error tries as many keys as
// the chance it bears: 2^-gets.
func TestProbeOfProxyWithOneDeadUpstreamRarelyFails(t *testing.T) {
	t.Run("keys tried against an all-error proxy", func(t *testing.T) {
		var gets atomic.Int64
		addr := hashProxy(t, true, 0, &gets)
		s, dials := fakeStore(t, addr)
		h := s.servers.byAddr[addr]
		h.checking.Store(true) // its error replies call for no probe of their own
		require.Error(t, s.probe(h), "a probe of a proxy whose every reply is an error")
		require.GreaterOrEqual(t, gets.Load(), int64(30),
			"probe gets before giving up: a proxy with one upstream of two dead stays marked down once in 2^%d probes", gets.Load())
		require.Equal(t, int64(1), dials(), "dials of one probe")
	})
	t.Run("many probes of a proxy with one upstream of two dead", func(t *testing.T) {
		// With 8 keys, 3000 probes all succeed with p = (255/256)^3000,
		// under 1e-5; with 32, one fails with p under 1e-6.
		var gets atomic.Int64
		addr := hashProxy(t, false, 0, &gets)
		s, _ := fakeStore(t, addr)
		h := s.servers.byAddr[addr]
		h.checking.Store(true)
		failed, last := 0, error(nil)
		const probes = 3000
		for range probes {
			if err := s.probe(h); err != nil {
				failed, last = failed+1, err
			}
		}
		require.Zero(t, failed, "probes of a proxy serving half its keys that found it down, of %d (%d gets): %v", probes, gets.Load(), last)
		// Each probe stops at its first normal reply: about 2 gets.
		require.Less(t, gets.Load(), int64(3*probes), "gets of %d probes", probes)
	})
}

// The probe of a proxy whose error replies are slow stays within its one
// Options.Timeout, however many keys it may try: the probe's gets share
// one deadline, and it fails with the timeout, a failure of the server,
// after as many gets as fit in it.
func TestProbeOfSlowErrorProxyEndsAtTimeout(t *testing.T) {
	var gets atomic.Int64
	addr := hashProxy(t, true, 50*time.Millisecond, &gets) // each error reply, through version, 50ms
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", Timeout: 400 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()
	h := s.servers.byAddr[addr]
	h.checking.Store(true)
	err = s.probe(h)
	require.Error(t, err)
	require.True(t, timeout(err), "the probe's error is no timeout: %v", err)
	require.Less(t, gets.Load(), int64(probeKeys), "probe gets: the probe ran past its Timeout")
}
