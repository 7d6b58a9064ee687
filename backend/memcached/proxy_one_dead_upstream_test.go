package memcached_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// openOnProxy returns a Store of a live memcached server and a textServer
// (a proxy, which answers with an error what fail says), and two keys the
// Store puts on the proxy.
func openOnProxy(t *testing.T, fail func(cmd []byte) bool) (s *memcached.Store, proxy *textServer, broken, other string) {
	t.Helper()
	live := testutil.MemcachedAddrs(t)[0]
	proxy = newTextServer(t, fail)
	ns := namespaceOn(0)
	s = open(t, memcached.Options{Servers: []string{live, proxy.addr}, Namespace: ns})
	_, _ = s.Get(bg, "first") // makes the generation
	keys := keysOn(t, live, ns, 1, 2)
	return s, proxy, keys[0], keys[1]
}

// oneDeadUpstream is the textServer's fail (setConnFail) of a proxy in
// front of two upstreams, one of them dead: it holds broken, <ns>:probe
// (the one probe key of old), and, of the Store's probe keys
// (<ns>:probe:<token>), the first that each connection asks for, however
// often it is asked for; the others are the live upstream's. A probe's gets
// share one connection: a probe gets its normal reply from its second key,
// and one that asks for a single key, or for one key again and again,
// never does. (The tokens are random, 9e5a7a7: a hash of the key, as a
// proxy places it, put all 8 keys of a probe on the dead upstream once in
// 256 probes, a CI failure; a rule by key alone either has that chance or,
// alternating over all probe keys, let a probe of one key through at every
// other probe.)
func oneDeadUpstream(broken string) func(conn int64, cmd []byte) bool {
	var mu sync.Mutex
	first := map[int64]string{} // each connection's first probe key
	return func(conn int64, cmd []byte) bool {
		f := bytes.Fields(cmd)
		if len(f) < 2 {
			return false
		}
		k := f[1] // the key, or a get's first
		switch {
		case bytes.HasSuffix(k, []byte(":"+broken)) || bytes.HasSuffix(k, []byte(":probe")):
			return true
		case !bytes.Contains(k, []byte(":probe:")):
			return false
		}
		mu.Lock()
		defer mu.Unlock()
		if _, ok := first[conn]; !ok {
			first[conn] = string(k)
		}
		return first[conn] == string(k)
	}
}

// Regression (review of d898adf): a proxy with one upstream dead (of
// several) must stay up, serving the other upstreams' keys. errorReply
// marked a server down once it gave 3 error replies and no normal one since
// the first of them, a second or more ago: not "a second of error replies
// only". Under light traffic (a client that asks for the dead upstream's
// keys, a second apart, while nobody else asks for anything) three error
// replies spread over more than a second were enough. A server about to be
// marked down for its error replies is now probed first (gets of several
// keys): a normal reply keeps it up.
//
// The quiet time between requests is steps of the health's clock
// (StepHealth), not wall time: five quarters of errorWindow pass in no
// time, however slow or fast the machine.
func TestProxyOfOneDeadUpstreamStaysUpUnderLightTraffic(t *testing.T) {
	s, proxy, broken, other := openOnProxy(t, failNone)
	step := memcached.StepHealth(s)
	proxy.setConnFail(oneDeadUpstream(broken))
	_, err := s.Get(bg, other)
	require.ErrorIs(t, err, backend.ErrNotFound, "a key of a live upstream")

	_, err = s.Get(bg, broken)
	require.Error(t, err)
	for range 5 { // 1.25 s, errorWindow and more: nobody asks for anything
		step()
	}
	_, _ = s.Get(bg, broken)
	_, _ = s.Get(bg, broken)

	// Every key behind the proxy is refused now, though the proxy serves
	// them...
	_, err = s.Get(bg, other)
	require.NotErrorIs(t, err, backend.ErrServerDown,
		"three error replies for one dead upstream's key, spread over more than a second, marked the whole proxy down")
}

// Regression (review of d898adf): once a proxy is marked down (its
// upstreams all dead a while), its probe was a get of one key, <ns>:probe,
// which the proxy sends to the upstream it hashes that key to. With every
// upstream back but that one, the proxy stayed down, each of its live
// upstreams' keys refused with ErrServerDown, for as long as that one
// upstream was dead. The probe now gets several keys, one get each, and
// any normal reply brings the server up.
func TestProxyMarkedDownComesBackWithOneUpstreamStillDead(t *testing.T) {
	s, proxy, broken, other := openOnProxy(t, failAll)
	step := memcached.StepHealth(s)
	// All upstreams dead for a while (errorWindow, a second, four steps of
	// the health's clock): the proxy is marked down, rightly. The bound is
	// ten windows of calls, a step apart.
	for i := 0; ; i++ {
		if _, err := s.Get(bg, broken); errors.Is(err, backend.ErrServerDown) {
			break
		}
		require.Less(t, i, 40, "set-up: the proxy is never marked down")
		step()
	}
	_, err := s.Get(bg, other)
	require.ErrorIs(t, err, backend.ErrServerDown, "set-up: the proxy is down")
	// All but one upstream of two back: a probe, once serverRetry (a
	// second, four steps) has passed, brings the proxy up (calls until then
	// are refused). The bound is ten serverRetry of calls, a step apart.
	proxy.setConnFail(oneDeadUpstream(broken))
	for i := 0; ; i++ {
		step()
		if _, err := s.Get(bg, other); !errors.Is(err, backend.ErrServerDown) {
			break
		}
		require.Less(t, i, 40, "the proxy's live upstreams' keys refused for good: its probe goes to the dead upstream")
	}
}

// Regression (review of d898adf): the error replies of a proxy with one
// upstream dead, which answers the other upstreams' keys normally, were
// plain errors, which the caching package's breaker counts as failures:
// under load, runs of them opened it for every key. They now wrap
// backend.ErrKeyRefused, which it does not count, while the server gave a
// normal reply within the last second; a server whose replies are all
// errors fails as before.
func TestProxyErrorReplyForOneKeyIsAKeyRefusal(t *testing.T) {
	s, proxy, broken, other := openOnProxy(t, failNone)
	proxy.setFail(func(cmd []byte) bool {
		return bytes.Contains(cmd, []byte(":"+broken))
	})
	_, err := s.Get(bg, other)
	require.ErrorIs(t, err, backend.ErrNotFound, "a key of a live upstream")

	_, err = s.Get(bg, broken)
	require.ErrorIs(t, err, backend.ErrKeyRefused)
	require.NotErrorIs(t, err, backend.ErrServerDown)
	require.ErrorIs(t, s.Set(bg, broken, []byte("v"), time.Minute), backend.ErrKeyRefused)
	_, err = s.Incr(bg, broken, 1)
	require.ErrorIs(t, err, backend.ErrKeyRefused)
	require.ErrorIs(t, s.Delete(bg, broken), backend.ErrKeyRefused)
	_, err = s.GetMany(bg, []string{broken})
	require.ErrorIs(t, err, backend.ErrKeyRefused)

	// A proxy whose upstreams are all dead, from the start: its errors are
	// failures.
	s, _, broken, _ = openOnProxy(t, failAll)
	_, err = s.Get(bg, broken)
	require.Error(t, err)
	require.NotErrorIs(t, err, backend.ErrKeyRefused, "a server that answers nothing normally refused a key")
}
