package redisstore

import (
	"context"
	"fmt"
	"testing"

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

func TestGlobEscape(t *testing.T) {
	t.Parallel()
	assert.Equal(t, `a\*b\?c\[d\]e\\f`, globEscape(`a*b?c[d]e\f`))
	assert.Equal(t, "caching:", globEscape("caching:"))
}
