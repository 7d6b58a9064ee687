package memcached_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: since GetMany read each server's keys with a GetMulti of its
// own (so that a server down fails its own keys only), a healthy GetMany of
// 10 keys over two servers made 86 allocations where one GetMulti made 66:
// the keys grouped by server, a slice of keys and of values per server, a
// goroutine and its closure. A GetMany now tries one GetMulti first, as
// before, and splits the keys by server only when it fails.
func TestGetManyOverServersAllocatesAsOneGetMulti(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	addrs := testutil.MemcachedAddrs(t)
	require.GreaterOrEqual(t, len(addrs), 2, "two servers")
	s := open(t, memcached.Options{Servers: addrs, Timeout: testutil.SlowTimeout})
	keys := make([]string, 10)
	value := make([]byte, 256)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
		require.NoError(t, s.Set(bg, keys[i], value, 0))
	}
	vs, err := s.GetMany(bg, keys)
	require.NoError(t, err)
	for i, v := range vs {
		require.Len(t, v, len(value), "key %s", keys[i])
	}
	allocs := testutil.AllocsPerRun(200, func() {
		if _, err := s.GetMany(bg, keys); err != nil {
			t.Fatal(err)
		}
	})
	t.Logf("%.1f allocations per GetMany of 10 keys over %d servers", allocs, len(addrs))
	require.LessOrEqual(t, allocs, 67.0, "a healthy GetMany allocates as one GetMulti (66: no error wrapped), not as one per server (86)")
}
