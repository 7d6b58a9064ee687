package memcached_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// textServer is a tiny memcached text-protocol server, as a proxy in front
// of memcached servers (mcrouter, twemproxy, memcached's proxy mode) looks
// to a client: it stores nothing, answers a get with a miss, a storage
// command with STORED, a delete with NOT_FOUND and version with its
// version, unless fail says to answer the command with "SERVER_ERROR
// unavailable", as such a proxy answers a command whose upstream is dead.
type textServer struct {
	addr string
	// fail reports whether the command line cmd, read on the server's
	// conn-th connection (from 1, in the order they were accepted), is
	// answered with the error.
	fail  atomic.Pointer[func(conn int64, cmd []byte) bool]
	conns atomic.Int64 // the connections accepted
	// probes counts the gets of a probe key, <ns>:probe:<n> (the
	// Store's probes of a server marked down, a get per key).
	probes atomic.Int64
}

func newTextServer(t *testing.T, fail func(cmd []byte) bool) *textServer {
	t.Helper()
	s := &textServer{}
	s.setFail(fail)
	s.addr, _ = listenServing(t, s.serve)
	return s
}

func (s *textServer) setFail(fail func(cmd []byte) bool) {
	s.setConnFail(func(_ int64, cmd []byte) bool { return fail(cmd) })
}

// setConnFail is setFail for a fail that tells the connections apart.
func (s *textServer) setConnFail(fail func(conn int64, cmd []byte) bool) { s.fail.Store(&fail) }

func failAll([]byte) bool  { return true }
func failNone([]byte) bool { return false }

func (s *textServer) serve(c net.Conn) {
	defer c.Close()
	conn := s.conns.Add(1)
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		f := bytes.Fields(line)
		if len(f) == 0 {
			continue
		}
		var reply string
		switch string(f[0]) {
		case "set", "add", "replace", "append", "prepend", "cas":
			if len(f) < 5 {
				return
			}
			n, err := strconv.Atoi(string(f[4]))
			if err != nil {
				return
			}
			if _, err := io.CopyN(io.Discard, r, int64(n)+2); err != nil {
				return
			}
			reply = "STORED\r\n"
		case "get", "gets":
			if len(f) > 1 && bytes.Contains(f[1], []byte(":probe:")) {
				s.probes.Add(1)
			}
			reply = "END\r\n"
		case "delete", "incr", "decr", "touch":
			reply = "NOT_FOUND\r\n"
		case "version":
			reply = "VERSION 1.6.0-fake\r\n"
		default:
			reply = "ERROR\r\n"
		}
		if (*s.fail.Load())(conn, line) {
			reply = "SERVER_ERROR unavailable\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

// Regression (review of f03344e): a proxy whose upstreams are all dead
// answers "SERVER_ERROR ..." to every command. Its error replies counted as
// answers, so it was never marked down: each of its keys cost a round trip
// (and a new connection: gomemcache closes one after an error reply), and
// its errors, which the caching package's breaker counts, opened the breaker
// for every key, the live servers' too. It is now marked down once it gave
// error replies and no other for about a second, its keys refused at once
// with backend.ErrServerDown as for a dead server, the live server's keys
// served throughout; its probe must get a normal reply to bring it back.
func TestProxyOfDeadUpstreamsIsMarkedDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	proxy := newTextServer(t, failAll)
	ns := namespaceOn(0) // the generation on the live server
	s := open(t, memcached.Options{Servers: []string{live, proxy.addr}, Namespace: ns})
	_, _ = s.Get(bg, "first") // makes the generation (the key may be on the proxy)
	liveKeys := keysOn(t, live, ns, 0, 4)
	proxyKeys := keysOn(t, live, ns, 1, 4)
	for _, k := range liveKeys {
		require.NoError(t, s.Set(bg, k, []byte("v-"+k), 0))
	}

	// Calls for the proxy's keys, with those of the live server between
	// them, until the proxy is marked down (after the window, a second)
	// and a few calls after: the live keys work throughout. The bound is
	// a hundred windows and more: a second and a half of calls, as it was,
	// could end before a loaded machine's first reply was a second old.
	var errored, refused, erroredAfter int
	start := time.Now()
	for i := 0; refused < 20; i++ {
		require.Less(t, time.Since(start), 2*time.Minute, "the proxy answering SERVER_ERROR to everything was never marked down, after %d calls", i)
		k := proxyKeys[i%len(proxyKeys)]
		var err error
		switch i % 3 {
		case 0:
			_, err = s.Get(bg, k)
		case 1:
			err = s.Set(bg, k, []byte("x"), 0)
		default:
			err = s.Delete(bg, k)
		}
		require.Error(t, err, "call %d for a key of the proxy", i)
		switch {
		case errors.Is(err, backend.ErrServerDown):
			refused++
		case refused > 0:
			erroredAfter++
		default:
			errored++
		}
		lk := liveKeys[i%len(liveKeys)]
		v, err := s.Get(bg, lk)
		require.NoError(t, err, "a key of the live server, call %d", i)
		require.Equal(t, "v-"+lk, string(v))
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("proxy's keys: %d errors, then %d refused as server down (and %d errors among them)", errored, refused, erroredAfter)
	require.Positive(t, refused, "the proxy answering SERVER_ERROR to everything was never marked down")
	_, err := s.Get(bg, proxyKeys[0])
	require.ErrorIs(t, err, backend.ErrServerDown, "the proxy is down: its keys are refused at once")
	assert.Zero(t, erroredAfter, "calls for the proxy's keys failed, with errors the caching package's breaker counts, after it was marked down")

	// A GetMany over both servers returns the live server's values.
	vs, err := s.GetMany(bg, append([]string{liveKeys[0]}, proxyKeys[0]))
	var gme *backend.GetManyError
	require.ErrorAs(t, err, &gme)
	require.ErrorIs(t, err, backend.ErrServerDown, "a refusal, which the caching package's breaker does not count")
	assert.Equal(t, []int{1}, gme.Unread)
	assert.Equal(t, "v-"+liveKeys[0], string(vs[0]))

	// The probe, a second later, gets an error reply: the proxy stays down.
	// Calls until it has been sent are refused, and so is the one after it.
	probes := proxy.probes.Load()
	for deadline := time.Now().Add(2 * time.Minute); proxy.probes.Load() == probes; { // the probe comes after serverRetry, a second
		require.True(t, time.Now().Before(deadline), "no probe was sent")
		_, err = s.Get(bg, proxyKeys[0])
		require.ErrorIs(t, err, backend.ErrServerDown, "an error reply to the probe brought the proxy back up")
		time.Sleep(10 * time.Millisecond)
	}
	_, err = s.Get(bg, proxyKeys[0])
	require.ErrorIs(t, err, backend.ErrServerDown, "an error reply to the probe brought the proxy back up")
	_, err = s.Get(bg, proxyKeys[1])
	require.ErrorIs(t, err, backend.ErrServerDown, "an error reply to the probe brought the proxy back up")
	probes = proxy.probes.Load()

	// Its upstreams back, the next probe brings it up.
	proxy.setFail(failNone)
	require.Eventually(t, func() bool {
		_, err = s.Get(bg, proxyKeys[0])
		return !errors.Is(err, backend.ErrServerDown)
	}, 2*time.Minute, 10*time.Millisecond, "the proxy answering again is never brought back up by its probe")
	require.ErrorIs(t, err, backend.ErrNotFound, "the proxy answering again is brought back up by its probe")
	require.Greater(t, proxy.probes.Load(), probes, "no probe was sent")
	require.NoError(t, s.Set(bg, proxyKeys[1], []byte("x"), 0))
}

// A proxy with one upstream dead answers that upstream's keys with
// SERVER_ERROR and the others normally: however long that lasts, with runs
// of errors between the normal replies, it stays up. The health's clock
// moves a quarter of its error window a round of calls (StepHealth): twelve
// rounds span three windows, however slow or fast the machine.
func TestProxyOfOneDeadUpstreamStaysUp(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	proxy := newTextServer(t, failNone)
	ns := namespaceOn(0)
	s := open(t, memcached.Options{Servers: []string{live, proxy.addr}, Namespace: ns})
	step := memcached.StepHealth(s)
	_, _ = s.Get(bg, "first") // makes the generation
	keys := keysOn(t, live, ns, 1, 5)
	broken, other := keys[:4], keys[4]
	proxy.setFail(func(cmd []byte) bool {
		cmd = bytes.TrimRight(cmd, "\r\n")
		for _, k := range broken {
			if bytes.HasSuffix(cmd, []byte(":"+k)) {
				return true
			}
		}
		return false
	})
	for i := range 12 {
		for _, k := range broken {
			_, err := s.Get(bg, k)
			require.Error(t, err)
			require.NotErrorIs(t, err, backend.ErrServerDown, "round %d: the proxy was marked down for some keys' errors", i)
		}
		_, err := s.Get(bg, other)
		require.ErrorIs(t, err, backend.ErrNotFound, "round %d: a key the proxy serves", i)
		step()
	}
}
