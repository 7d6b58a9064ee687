package redisstore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

func TestSlot(t *testing.T) {
	t.Parallel()
	cases := []struct {
		key  string
		want int
	}{
		{"123456789", 0x31C3 % slotCount}, // the CRC16/XMODEM check value
		{"", 0},
		{"foo", 12182},
		{"bar", 5061},
		{"{user1000}.following", slot("user1000")},
		{"{user1000}.followers", slot("user1000")},
		{"foo{}{bar}", slot("foo{}{bar}")}, // empty tag: the whole key
		{"foo{{bar}}zap", slot("{bar")},
		{"foo{bar}{zap}", slot("bar")},
		{"caching:{app}:k", slot("app")},
	}
	for _, tc := range cases {
		t.Run(tc.key, func(t *testing.T) {
			assert.Equal(t, tc.want, slot(tc.key))
		})
	}
	assert.NotEqual(t, slot("foo{}{bar}"), slot("bar"))
}

// TestSlotMatchesCluster compares slot with CLUSTER KEYSLOT on the real
// Cluster for keys with and without hash tags.
func TestSlotMatchesCluster(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	c := redis.NewClient(&redis.Options{Addr: addrs[0], ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = c.Close() })
	keys := []string{"", "a", "x\x00y", "ключ", "{tag}rest", "a{}b", "{{x}}", "caching:{app}:k"}
	for i := range 200 {
		keys = append(keys, fmt.Sprintf("caching:%d", i*7919))
	}
	for _, k := range keys {
		want, err := c.ClusterKeySlot(context.Background(), k).Result()
		require.NoError(t, err)
		require.Equal(t, int(want), slot(k), "slot of %q", k)
	}
}

// slotBits is how many bits a hash slot has (16384 slots).
const slotBits = 14

// slotsCluster returns a ClusterClient whose view of the Cluster is slots
// (go-redis's ClusterSlots option): it contacts no server for its view,
// and MasterForKey reads it.
func slotsCluster(t testing.TB, slots []redis.ClusterSlot) *redis.ClusterClient {
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
		clients[bit] = slotsCluster(t, slots)
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
			assert.Equal(t, goRedis(p+k), slotOf(p, k), "prefix %q, key %q", p, k)
		}
	}
	// Every split of a few keys.
	for _, full := range []string{"caching:{app}:k", "a{b}c{d}e", "{{x}}", "ab{}{cd}", "x{y", "plain"} {
		for i := range len(full) + 1 {
			assert.Equal(t, goRedis(full), slotOf(full[:i], full[i:]), "prefix %q, key %q", full[:i], full[i:])
		}
	}
}

func TestGlobEscape(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `a\*b\?c\[d\]e\\f`, globEscape(`a*b?c[d]e\f`))
	assert.Equal(t, "caching:", globEscape("caching:"))
}
