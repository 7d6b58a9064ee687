package redisstore_test

import (
	"context"
	"fmt"
	"strings"
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
	c, b, key := downMasterStore(t, "refused")
	ctx := context.Background()

	for op, call := range refusableCalls(ctx, b, key) {
		err := call()
		require.ErrorIs(t, err, backend.ErrServerDown, op)
		assert.Contains(t, err.Error(), "redisstore: "+op+": master "+c.nodes[1].Addr, op)
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = call() }), "%s: allocations of a refused call", op)
	}
}

// downMasterStore returns a Cluster of 3 masters of the test's own, a
// Store on it under prefix, and a key set on its master 1, which is
// stopped and marked down.
func downMasterStore(t *testing.T, prefix string) (*ownCluster, *redisstore.Store, string) {
	t.Helper()
	c, b, keys := ownClusterStore(t, prefix)
	c.nodes[1].Stop()
	markDown(t, b, keys[1])
	return c, b, keys[1]
}

// Regression: SetMany noted the outcome of each command it sent, after a
// failed call or while a master of the Cluster was marked down, by the
// key's master, which it found from the key as sent made again (the
// prefix and the key concatenated): a copy of every key of such a call,
// the calls a dead master's Cluster serves at full rate. The master is
// now found from the key the command already holds: each item's key as
// sent is made once, for SET.
func TestSetManyWhileMasterDownMakesKeysOnce(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	c, b, _ := downMasterStore(t, "setmany-down")

	// Items on the live masters (0 and 2), under keys of a hash tag of
	// each, so that a longer key stays on its master.
	const perMaster, longer = 4, 8 << 10
	items := func(pad string) []backend.Item {
		var items []backend.Item
		for _, node := range []int{0, 2} {
			tag := c.tagOn(t, node)
			for i := range perMaster {
				items = append(items, backend.Item{Key: fmt.Sprint(tag, pad, i), Value: []byte("v"), TTL: time.Minute})
			}
		}
		return items
	}
	short, long := items(""), items(strings.Repeat("l", longer))
	ctx := context.Background()
	setMany := func(items []backend.Item) func() {
		return func() { require.NoError(t, b.SetMany(ctx, items)) }
	}
	more := bytesPerRun(50, setMany(long)) - bytesPerRun(50, setMany(short))
	n := float64(len(long) * longer)
	t.Logf("%.2f copies of each key as sent", more/n)
	assert.InDelta(t, 1, more/n, 0.5, "copies of each key as sent (%.0f bytes more for %d keys %d longer)", more, len(long), longer)
}
