package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// slotBits is how many bits a hash slot has (16384 slots).
const slotBits = 14

// fakeCluster returns a ClusterClient whose view of the Cluster is slots
// (go-redis's ClusterSlots option): it contacts no server for its view,
// and MasterForKey reads it.
func fakeCluster(t testing.TB, slots []redis.ClusterSlot) *redis.ClusterClient {
	t.Helper()
	c := redis.NewClusterClient(&redis.ClusterOptions{
		ClusterSlots:          func(context.Context) ([]redis.ClusterSlot, error) { return slots, nil },
		MaxRedirects:          -1,
		ContextTimeoutEnabled: true,
		DialTimeout:           time.Second,
	})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// goRedisSlots returns go-redis's hash slot of a key (its internal
// hashtag.Slot, which its ClusterClient routes commands by): read bit by
// bit from MasterForKey on one fake Cluster per bit, whose master "one"
// owns the slots with that bit set and master "zero" the others.
func goRedisSlots(t *testing.T) func(key string) int {
	t.Helper()
	var clients [slotBits]*redis.ClusterClient
	for bit := range slotBits {
		var slots []redis.ClusterSlot
		for start := 0; start < 16384; start += 1 << bit {
			addr := "zero.invalid:1"
			if start>>bit&1 == 1 {
				addr = "one.invalid:1"
			}
			slots = append(slots, redis.ClusterSlot{Start: start, End: start + 1<<bit - 1, Nodes: []redis.ClusterNode{{Addr: addr}}})
		}
		clients[bit] = fakeCluster(t, slots)
	}
	ended, cancel := context.WithCancel(context.Background())
	cancel() // contact nothing
	return func(key string) int {
		s := 0
		for bit, c := range clients {
			m, err := c.MasterForKey(ended, key)
			require.NoError(t, err)
			if m.Options().Addr == "one.invalid:1" {
				s |= 1 << bit
			}
		}
		return s
	}
}

// TestSlotOfPrefixAndKeyMatchesGoRedis: the slot the Store finds a call's
// master by, from its prefix and key apart (so that a refused call does
// not concatenate them), is go-redis's slot of the key as sent, hash tags
// in either part or across the two.
func TestSlotOfPrefixAndKeyMatchesGoRedis(t *testing.T) {
	t.Parallel()
	goRedis := goRedisSlots(t)
	prefixes := []string{"", "p:", "{t}:", "{t", "{", "a{", "a{}", "{}", "}{", "x{y}z{", "a}b{"}
	keys := []string{"k", "}", "b}c", "{u}", "{}", "}{z}", "{", "x{", "k{v}w", "ключ", "a\x00b"}
	for _, p := range prefixes {
		for _, k := range keys {
			if p+k == "" {
				continue // go-redis sends a command on "" to a random slot
			}
			assert.Equal(t, goRedis(p+k), redisstore.SlotOf(p, k), "prefix %q, key %q", p, k)
		}
	}
	// Every split of a few keys.
	for _, full := range []string{"caching:{app}:k", "a{b}c{d}e", "{{x}}", "ab{}{cd}", "x{y", "plain"} {
		for i := range len(full) + 1 {
			assert.Equal(t, goRedis(full), redisstore.SlotOf(full[:i], full[i:]), "prefix %q, key %q", full[:i], full[i:])
		}
	}
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
		assert.Zero(t, testing.AllocsPerRun(100, func() { _ = call() }), "%s: allocations of a refused call", op)
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
	c := fakeCluster(t, []redis.ClusterSlot{
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
		return testing.AllocsPerRun(50, func() { _ = call(keys, items) })
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
