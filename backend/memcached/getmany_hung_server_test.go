package memcached_test

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: after a multi-get that failed, GetMany read the keys left
// over again, each server's apart, the hung server's too: a server that
// accepts connections and never answers made each GetMany with keys on it
// wait Options.Timeout twice (two multi-gets sent to it, one after the
// other), until it was marked down. A server whose read timed out during
// the multi-get is now not asked again: its keys are noted unread with the
// timeout, and the GetMany returns after one Timeout.
func TestGetManyWithAHungServerWaitsOneTimeout(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	hung := testutil.StartProxy(t, "", testutil.ProxyOptions{}) // accepts, never answers
	ns := namespaceOn(0)                                        // the generation on the live server
	const timeout = 300 * time.Millisecond
	// The generation, made on the live server by a Store of it alone.
	require.NoError(t, open(t, memcached.Options{Servers: []string{live}, Namespace: ns}).Set(bg, "first", []byte("v"), 0))
	s := open(t, memcached.Options{Servers: []string{live, hung.Addr()}, Namespace: ns, Timeout: timeout})
	liveKeys := keysOn(t, live, ns, 0, 3)
	hungKeys := keysOn(t, live, ns, 1, 3)
	for _, k := range liveKeys {
		require.NoError(t, s.Set(bg, k, []byte("v-"+k), 0))
	}
	// live, hung, live, hung, live, hung.
	var batch []string
	for i := range liveKeys {
		batch = append(batch, liveKeys[i], hungKeys[i])
	}
	// Until the server is marked down (3 timeouts).
	for round := 0; ; round++ {
		require.Less(t, round, 5, "the hung server is marked down within 3 GetMany calls")
		before := hung.Accepted()
		vs, err := s.GetMany(bg, batch)
		require.Error(t, err, "round %d", round)
		var ge *backend.GetManyError
		require.ErrorAs(t, err, &ge, "round %d: %v", round, err)
		assert.Equal(t, []int{1, 3, 5}, ge.Unread, "round %d: the hung server's keys", round)
		require.Len(t, vs, len(batch))
		for i, k := range liveKeys {
			assert.Equal(t, "v-"+k, string(vs[2*i]), "round %d: key %s on the live server", round, k)
		}
		if errors.Is(err, backend.ErrServerDown) {
			assert.Equal(t, before, hung.Accepted(), "round %d: a server marked down is not dialled", round)
			break
		}
		var ne net.Error
		require.ErrorAs(t, err, &ne, "round %d: the keys not read are the timeout's: %v", round, err)
		require.True(t, ne.Timeout(), "round %d: %v", round, err)
		// Each multi-get sent to the hung server is on a connection of its
		// own (gomemcache closes the one that timed out), and waits the
		// whole Timeout: one connection per GetMany is one wait. (Counted,
		// not timed: a loaded machine stretches any wall-clock bound.)
		assert.Equal(t, 1, hung.Accepted()-before, "round %d: multi-gets sent to the hung server", round)
	}
}
