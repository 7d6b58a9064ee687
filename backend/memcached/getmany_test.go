package memcached_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// TestGetManyManyKeys: a GetMany of many keys is legitimate and must not
// fail for want of time to send them all and have the server look them all up
// under one deadline. One multi-get of 100,000 keys keeps a server busy for
// 0.3 to 0.8s before it answers (measured on a loaded 2-core machine), past
// the default 250ms Timeout: it failed every time before GetMany sent them in
// batches. The batches take 1 to 5ms each, so each finishes well within its
// own Timeout even on a loaded machine. Hits spread over the batches check
// that the results are merged at the right positions. TestGetManyBatches
// checks the batching itself, whatever the machine's speed.
func TestGetManyManyKeys(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	ns := namespace()
	// The entries are written through a Store with a longer Timeout: only
	// GetMany is under test.
	setup := open(t, memcached.Options{Servers: addrs[:1], Namespace: ns, Timeout: 2 * time.Second})
	s := open(t, memcached.Options{Servers: addrs[:1], Namespace: ns, Timeout: memcached.DefaultTimeout, GenerationTTL: time.Hour})
	const n = 100_000
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("many/%06d", i)
	}
	want := make([][]byte, n)
	for i := 7; i < n; i += 997 {
		want[i] = []byte(keys[i])
		require.NoError(t, setup.Set(bg, keys[i], want[i], time.Minute))
	}
	start := time.Now()
	got, err := s.GetMany(bg, keys)
	t.Logf("GetMany of %d keys: %v", n, time.Since(start))
	require.NoError(t, err)
	require.Len(t, got, n)
	for i := range got {
		if !assert.Equal(t, want[i], got[i], "key %s", keys[i]) {
			break
		}
	}
}
