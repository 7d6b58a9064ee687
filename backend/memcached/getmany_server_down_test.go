package memcached_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: with one server of two down, a GetMany with keys on both
// failed as a whole: the values the other server returned were dropped (and
// once the server was marked down, they were not even asked for), so that
// every lookup of the batch was served uncached. The values read now come
// back, with a *backend.GetManyError naming the keys not read.
func TestGetManyWithAServerDownReturnsTheOthersValues(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	p := startMemcached(t)
	ns := namespaceOn(0) // the generation on the live server
	s := open(t, memcached.Options{Servers: []string{live, p.Addr}, Namespace: ns})
	require.NoError(t, s.Set(bg, "first", []byte("v"), 0))
	liveKeys := keysOn(t, live, ns, 0, 4)
	downKeys := keysOn(t, live, ns, 1, 3)
	// live, down, live, down, live, down, live (the last never set: a miss).
	var batch []string
	var wantUnread []int
	for i := range liveKeys {
		batch = append(batch, liveKeys[i])
		if i < len(downKeys) {
			batch = append(batch, downKeys[i])
			wantUnread = append(wantUnread, len(batch)-1)
		}
	}
	for _, k := range batch[:len(batch)-1] {
		require.NoError(t, s.Set(bg, k, []byte("v-"+k), 0))
	}
	p.Stop()
	// Before the server is marked down (its dials refused) and after (its
	// keys refused at once).
	for round := range 6 {
		vs, err := s.GetMany(bg, batch)
		require.Error(t, err, "round %d", round)
		var ge *backend.GetManyError
		require.ErrorAs(t, err, &ge, "round %d: %v", round, err)
		require.Equal(t, wantUnread, ge.Unread, "round %d", round)
		assert.Equal(t, len(batch), ge.Keys)
		assert.Contains(t, err.Error(), "(3 of 7 keys not read)")
		require.Len(t, vs, len(batch))
		for i, k := range batch {
			switch {
			case i == len(batch)-1, i%2 == 1:
				assert.Nil(t, vs[i], "round %d: key %s", round, k)
			default:
				assert.Equal(t, "v-"+k, string(vs[i]), "round %d: key %s on the live server", round, k)
			}
		}
		if round == 5 {
			require.ErrorIs(t, err, backend.ErrServerDown, "the server is marked down by now")
		}
	}
	// Only the server down's keys: the whole call fails.
	vs, err := s.GetMany(bg, downKeys)
	require.ErrorIs(t, err, backend.ErrServerDown)
	var ge *backend.GetManyError
	require.NotErrorAs(t, err, &ge)
	require.Nil(t, vs)
}
