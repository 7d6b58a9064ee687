package memcached_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// proxyFailingKey returns the address of a proxy (twemproxy, mcrouter: one
// address in front of many servers) forwarding every command to upstream,
// line by line, but for the gets with a key ending in ":"+key (the Store's
// namespace:generation:key), which it answers with line itself, as such a
// proxy answers a key whose own server is down: a multi-get with that key
// among others is failed as a whole, as twemproxy fails it
// (twitter/twemproxy#340).
func proxyFailingKey(t *testing.T, upstream, key, line string) string {
	t.Helper()
	suffix := []byte(":" + key)
	return testutil.StartProxy(t, upstream, testutil.ProxyOptions{Request: func(cmd []byte) []byte {
		if f := bytes.Fields(cmd); len(f) > 1 && string(f[0]) == "gets" && slices.ContainsFunc(f[1:], func(k []byte) bool {
			return bytes.HasSuffix(k, suffix)
		}) {
			return []byte(line)
		}
		return nil
	}}).Addr()
}

// Regression: behind twemproxy or mcrouter, the proxy answers
// "SERVER_ERROR ..." for a key whose own server is down (or for an item it
// cannot take), and the Store counted that against the proxy's address: 3
// such replies in a row marked the proxy down, and every key, on every
// server behind it, was refused for a second (then again after each probe),
// as if the whole cache were down. An error reply is an answer: the proxy
// and its connection work, only that key fails.
func TestProxyErrorForOneKeyDoesNotMarkTheProxyDown(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	for _, line := range []string{
		"SERVER_ERROR Connection refused\r\n", // twemproxy, the key's server gone
		"SERVER_ERROR unavailable\r\n",
		"CLIENT_ERROR bad data chunk\r\n",
		"ERROR\r\n",
	} {
		t.Run(line[:len(line)-2], func(t *testing.T) {
			proxy := proxyFailingKey(t, live, "broken", line)
			s := open(t, memcached.Options{Servers: []string{proxy}})
			require.NoError(t, s.Set(bg, "other", []byte("v"), 0))
			for i := range 10 {
				_, err := s.Get(bg, "broken")
				require.Error(t, err, "get %d of the key the proxy fails", i)
				require.NotErrorIs(t, err, backend.ErrNotFound)
				require.NotErrorIs(t, err, backend.ErrServerDown, "get %d: the proxy was marked down for one key's errors", i)
			}
			v, err := s.Get(bg, "other")
			require.NoError(t, err, "a key the proxy serves, after the errors of another")
			assert.Equal(t, "v", string(v))
			vs, err := s.GetMany(bg, []string{"other", "missing"})
			require.NoError(t, err)
			assert.Equal(t, [][]byte{[]byte("v"), nil}, vs)
			require.NoError(t, s.Set(bg, "third", []byte("w"), 0))
		})
	}
}
