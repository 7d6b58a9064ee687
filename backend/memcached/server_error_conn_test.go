package memcached

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// refusingProxy returns a Store whose one server is a proxy in front of a
// live memcached server that answers every get with a key ending in
// ":broken" with reply itself (a multi-get with it among others too, as
// twemproxy fails one), as mcrouter or memcached's proxy mode answers the
// keys of an upstream that is down, with "other" set to "v" on it, and the
// Store's dial count.
func refusingProxy(t *testing.T, reply string) (*Store, func() int64) {
	t.Helper()
	live := testutil.MemcachedAddrs(t)[0]
	proxy := testutil.StartProxy(t, live, testutil.ProxyOptions{Request: func(cmd []byte) []byte {
		if f := bytes.Fields(cmd); len(f) > 1 && string(f[0]) == "gets" && slices.ContainsFunc(f[1:], func(k []byte) bool {
			return bytes.HasSuffix(k, []byte(":broken"))
		}) {
			return []byte(reply)
		}
		return nil
	}})
	s, err := New(Options{Servers: []string{proxy.Addr()}, Namespace: namespaceFor("srverr")})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	require.NoError(t, s.Set(context.Background(), "other", []byte("v"), 0))
	t.Cleanup(func() { _ = s.Delete(context.Background(), "other") })
	n := countDials(s)
	return s, n.Load
}

// Regression: gomemcache closes its connection after any reply line it does
// not expect, "SERVER_ERROR ..." among them, so that each get a proxy
// refused (mcrouter, memcached's proxy mode, for the keys of an upstream
// that is down) cost a new TCP connection: a test run left thousands of
// sockets in TIME_WAIT, and a few hundred refused gets a second would
// exhaust a client's ephemeral ports. The error line is the whole reply to
// a one-key get (memcached, its proxy mode, twemproxy and mcrouter send
// nothing after it): the Store now keeps that connection and dials it
// again. The gets of another key on it must read that key's value.
func TestServerErrorToAGetKeepsTheConnection(t *testing.T) {
	ctx := context.Background()
	s, dials := refusingProxy(t, "SERVER_ERROR backend failure\r\n")
	before := dials()
	const n = 50
	for i := range n {
		_, err := s.Get(ctx, "broken")
		require.ErrorContains(t, err, "SERVER_ERROR backend failure", "get %d of the refused key", i)
		requireOther(t, s, i)
	}
	assert.LessOrEqual(t, dials()-before, int64(1), "dials for %d refused gets", n)
}

// The connection is kept only where the error line is known to end the
// reply: a multi-get's error may be followed by the other keys' values and
// END (memcached's proxy mode), and a reply with anything after its error
// line is not one gomemcache read to its end. Either closes it, as before:
// no reply is read as the next command's.
func TestServerErrorToAGetClosesTheConnectionWhenMoreMayFollow(t *testing.T) {
	ctx := context.Background()
	t.Run("bytes after the error line", func(t *testing.T) {
		s, dials := refusingProxy(t, "SERVER_ERROR backend failure\r\nEND\r\n")
		before := dials()
		for i := range 5 {
			_, err := s.Get(ctx, "broken")
			require.ErrorContains(t, err, "SERVER_ERROR backend failure", "get %d of the refused key", i)
			requireOther(t, s, i)
		}
		assert.Equal(t, int64(5), dials()-before, "a connection with bytes after the error line was kept")
	})
	t.Run("multi-get", func(t *testing.T) {
		s, dials := refusingProxy(t, "SERVER_ERROR backend failure\r\n")
		before := dials()
		for i := range 5 {
			_, err := s.getMulti(context.Background(), []string{s.mustKey(t, "broken"), s.mustKey(t, "other")}, make([][]byte, 2), nil)
			require.ErrorContains(t, err, "SERVER_ERROR backend failure", "multi-get %d", i)
			requireOther(t, s, i)
		}
		assert.Equal(t, int64(5), dials()-before, "a connection was kept after a multi-get's error")
	})
}

// requireOther requires that a get of "other" reads its own value, "v",
// after the i-th refusal: no reply of an earlier command read as its.
func requireOther(t *testing.T, s *Store, i int) {
	t.Helper()
	v, err := s.Get(context.Background(), "other")
	require.NoError(t, err, "get %d of a key the proxy serves", i)
	require.Equal(t, "v", string(v), "get %d of a key the proxy serves", i)
}

func (s *Store) mustKey(t *testing.T, key string) string {
	t.Helper()
	k, err := s.key(context.Background(), key)
	require.NoError(t, err)
	return k
}
