package memcached_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: behind twemproxy a GetMany sends the keys of the proxy as one
// multi-get, which twemproxy fails as a whole when one key's upstream is
// dead (twitter/twemproxy#340): every key of the batch was unread, the live
// upstreams' keys with the dead one's. A multi-get refused so (by a server
// that answers other keys: backend.ErrKeyRefused) is now read again one get
// per key: only the dead upstream's key is unread. Both ways the keys reach
// the proxy: a Store on the proxy alone (one multi-get of every key), and
// on the proxy and another server (a multi-get of the proxy's keys after
// the first one failed).
func TestGetManyBehindProxyReadsPastADeadUpstreamKey(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	const refusal = "SERVER_ERROR Connection refused\r\n" // twemproxy's, the key's server gone
	t.Run("one server", func(t *testing.T) {
		proxy := proxyFailingKey(t, live, "broken", refusal)
		s := open(t, memcached.Options{Servers: []string{proxy}})
		getManyPastBroken(t, s, "broken", []string{"a", "b", "c", "d", "e", "f", "g", "h"})
	})
	t.Run("two servers", func(t *testing.T) {
		ns := namespaceOn(0) // the generation on live, read straight
		_, _ = open(t, memcached.Options{Servers: []string{live}, Namespace: ns}).Get(bg, "first")
		keys := keysOn(t, live, ns, 1, 9) // on the proxy
		proxy := proxyFailingKey(t, live, keys[0], refusal)
		s := open(t, memcached.Options{Servers: []string{live, proxy}, Namespace: ns})
		others := append(keys[1:], keysOn(t, live, ns, 0, 4)...) // and on live
		getManyPastBroken(t, s, keys[0], others)
	})
}

// getManyPastBroken sets others through s, then gets them with broken (a
// key the proxy fails) and a key never set among them, and checks that
// each value comes back, the missing key a miss, and broken alone unread,
// refused.
func getManyPastBroken(t *testing.T, s *memcached.Store, broken string, others []string) {
	t.Helper()
	for _, k := range others {
		require.NoError(t, s.Set(bg, k, []byte("v-"+k), 0))
	}
	keys := append([]string{"missing", broken}, others...)
	for round := range 3 {
		vs, err := s.GetMany(bg, keys)
		var ge *backend.GetManyError
		require.ErrorAs(t, err, &ge, "round %d: the broken key is unread", round)
		assert.Equal(t, []int{1}, ge.Unread, "round %d: one dead upstream's key left the others unread", round)
		require.ErrorIs(t, err, backend.ErrKeyRefused, "round %d", round)
		require.Len(t, vs, len(keys))
		assert.Nil(t, vs[0], "round %d: a miss", round)
		for i, k := range others {
			assert.Equal(t, "v-"+k, string(vs[i+2]), fmt.Sprintf("round %d: key %s", round, k))
		}
	}
}

// The gets that read a refused multi-get's keys again are bounded together
// by Options.Timeout, and stop once the context is done: behind a proxy
// that answers each command 10ms late, 40 keys one get each would take
// 400ms; with a Timeout, or a context, of 150ms, the GetMany stops
// starting gets, and the keys left are unread.
func TestGetManyBehindProxyReadsAgainWithinTimeout(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	proxy := slowProxy(t, proxyFailingKey(t, live, "broken", "SERVER_ERROR Connection refused\r\n"), 10*time.Millisecond)
	for _, c := range []struct {
		name    string
		timeout time.Duration
		ctx     time.Duration // the context's timeout; 0: none
		want    error
	}{
		{"Options.Timeout", 150 * time.Millisecond, 0, backend.ErrKeyRefused},
		{"context deadline", 5 * time.Second, 150 * time.Millisecond, context.DeadlineExceeded},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := open(t, memcached.Options{Servers: []string{proxy}, Timeout: c.timeout})
			keys := []string{"broken"}
			for i := range 40 {
				keys = append(keys, fmt.Sprint("k", i))
				require.NoError(t, s.Set(bg, keys[i+1], []byte("v"), 0))
			}
			ctx := bg
			if c.ctx > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(bg, c.ctx)
				defer cancel()
			}
			vs, err := s.GetMany(ctx, keys)
			require.ErrorIs(t, err, c.want)
			read := 0
			for _, v := range vs { // nil, the call failed as a whole, on a machine that stalled
				if v != nil {
					read++
				}
			}
			require.Less(t, read, 40, "every key read one get each, past the bound")
		})
	}
}

// slowProxy returns the address of a proxy forwarding every command to
// upstream, each delay late.
func slowProxy(t *testing.T, upstream string, delay time.Duration) string {
	t.Helper()
	return testutil.StartProxy(t, upstream, testutil.ProxyOptions{Request: func([]byte) []byte {
		time.Sleep(delay)
		return nil
	}}).Addr()
}
