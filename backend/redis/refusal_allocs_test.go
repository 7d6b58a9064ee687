package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// Regression: each call refused because its Cluster master is marked down
// built its refusal (fmt.Errorf: the operation, the address, why), a few
// allocations per refused call, the calls that a dead master's keys make
// at full rate. The refusals are now made once, when the master is marked
// down, as the memcached store's are; and the key's master is found from
// the prefix and the key apart (TestRefusalUnderPrefixAllocatesNothing): a
// refused call allocates nothing.
func TestClusterRefusalAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "refused"})
	t.Cleanup(func() { _ = b.Close() })
	key := c.keyOn(t, b.Prefix(), 1)
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, key, []byte("v"), time.Minute))
	c.nodes[1].Stop()
	markDown(t, b, key)

	for op, call := range refusableCalls(ctx, b, key) {
		err := call()
		require.ErrorIs(t, err, backend.ErrServerDown, op)
		assert.Contains(t, err.Error(), "redisstore: "+op+": master "+c.nodes[1].Addr, op)
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = call() }), "%s: allocations of a refused call", op)
	}
}
