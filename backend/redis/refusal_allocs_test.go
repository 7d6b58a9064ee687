package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
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
		assert.Zero(t, testutil.AllocsPerRun(100, func() { _ = call() }), "%s: allocations of a refused call", op)
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
	more := testutil.BytesPerRun(50, setMany(long)) - testutil.BytesPerRun(50, setMany(short))
	n := float64(len(long) * longer)
	t.Logf("%.2f copies of each key as sent", more/n)
	assert.InDelta(t, 1, more/n, 0.5, "copies of each key as sent (%.0f bytes more for %d keys %d longer)", more, len(long), longer)
}

// Regression: a call refused because its Cluster master is marked down
// still made its key as sent (the prefix and the key, concatenated) to
// find the master: an allocation per refused call, at the rate of the
// calls for a dead master's keys. The master is now found from the
// prefix and the key apart. The Cluster is a view go-redis was given
// (ClusterSlots), its masters addresses that refuse connections.
func TestRefusalUnderPrefixAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	b, key := refusingStore(t)
	ctx := context.Background()
	for op, call := range refusableCalls(ctx, b, key) {
		require.ErrorIs(t, call(), backend.ErrServerDown, op)
		assert.Zero(t, testutil.AllocsPerRun(100, func() { _ = call() }), "%s: allocations of a refused call", op)
	}
}

// refusableCalls returns a call on key of each operation on one key that a
// master marked down refuses, by operation.
func refusableCalls(ctx context.Context, b *redisstore.Store, key string) map[string]func() error {
	return map[string]func() error{
		"get":  func() error { _, err := b.Get(ctx, key); return err },
		"set":  func() error { return b.Set(ctx, key, nil, time.Minute) },
		"add":  func() error { _, err := b.Add(ctx, key, nil, time.Minute); return err },
		"incr": func() error { _, err := b.Incr(ctx, key, 1); return err },
		"has":  func() error { _, err := b.Has(ctx, key); return err },
	}
}

// refusingStore returns a Store under a prefix on a Cluster of two
// masters that refuse connections, in go-redis's view (ClusterSlots), and
// a key of the first, which is marked down (the second is not: refusals
// wrap backend.ErrServerDown).
func refusingStore(t testing.TB) (*redisstore.Store, string) {
	t.Helper()
	c := redisstore.SlotsCluster(t, []redis.ClusterSlot{
		{Start: 0, End: 8191, Nodes: []redis.ClusterNode{{Addr: testutil.RefusedAddr(t)}}},
		{Start: 8192, End: 16383, Nodes: []redis.ClusterNode{{Addr: testutil.RefusedAddr(t)}}},
	})
	b := redisstore.Must(redisstore.Options{Client: c, Prefix: "refused"})
	t.Cleanup(func() { _ = b.Close() })
	key := keysOfDown(b, 1)[0]
	ctx := context.Background()
	for range 10 {
		if _, err := b.Get(ctx, key); errors.Is(err, backend.ErrServerDown) {
			return b, key
		}
	}
	t.Fatal("the master was never marked down")
	return nil, ""
}

// keysOfDown returns n keys of the master that refusingStore marks down
// (the lower half of the slots), under b's prefix.
func keysOfDown(b *redisstore.Store, n int) []string {
	var keys []string
	for i := 0; len(keys) < n; i++ {
		if k := fmt.Sprint("k", i); redisstore.SlotOf(b.Prefix(), k) < 8192 {
			keys = append(keys, k)
		}
	}
	return keys
}

// Regression: a call on several keys (GetMany, SetMany, Delete) found
// the master of each key from its key as sent, the prefix and the key
// concatenated, while some master had a failure streak: an allocation
// per key of every call, those refused included, at the rate of the calls
// for a dead master's keys. The masters are now found from the prefix and
// the keys apart: a refused call of 64 keys allocates fewer than 32 more
// than one of a single key (its lists of the keys refused grow by
// doubling), where making each key as sent was 64 more.
func TestRefusedBatchUnderPrefixAllocatesNoKeys(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	b, _ := refusingStore(t)
	ctx := context.Background()
	calls := map[string]func(keys []string, items []backend.Item) error{
		"getmany": func(keys []string, _ []backend.Item) error { _, err := b.GetMany(ctx, keys); return err },
		"setmany": func(_ []string, items []backend.Item) error { return b.SetMany(ctx, items) },
		"delete":  func(keys []string, _ []backend.Item) error { return b.Delete(ctx, keys...) },
	}
	allocs := func(op string, n int) float64 {
		keys := keysOfDown(b, n)
		items := make([]backend.Item, n)
		for i, k := range keys {
			items[i] = backend.Item{Key: k, Value: []byte("v"), TTL: time.Minute}
		}
		call := calls[op]
		require.ErrorIs(t, call(keys, items), backend.ErrServerDown, "%s of %d keys", op, n)
		return testutil.AllocsPerRun(50, func() { _ = call(keys, items) })
	}
	for op := range calls {
		one, many := allocs(op, 1), allocs(op, 64)
		assert.Less(t, many-one, 32.0, "%s: allocations of a refused call of 64 keys (%v) over one of 1 key (%v)", op, many, one)
	}
}

// BenchmarkRefusedGet is a Get refused because its master is marked down,
// under a prefix: it allocates nothing.
func BenchmarkRefusedGet(b *testing.B) {
	s, key := refusingStore(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, key); err == nil {
			b.Fatal("a Get on a master marked down was not refused")
		}
	}
}
