package memcached

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := []struct {
		ttl  time.Duration
		want int32
	}{
		{0, 0},
		{time.Nanosecond, 1},
		{999 * time.Millisecond, 1},
		{time.Second, 1},
		{1500 * time.Millisecond, 2},
		{time.Hour, 3600},
		{30 * 24 * time.Hour, relativeTTLMax},
		{30*24*time.Hour + time.Second, int32(now.Unix()) + relativeTTLMax + 1},
		{365 * 24 * time.Hour, int32(now.Unix() + 365*24*3600)},
		{100 * 365 * 24 * time.Hour, math.MaxInt32},
	}
	for _, tc := range cases {
		t.Run(tc.ttl.String(), func(t *testing.T) {
			assert.Equal(t, tc.want, expiration(tc.ttl, now))
		})
	}
}

func TestStoreKey(t *testing.T) {
	const p = "ns:1:"
	long := strings.Repeat("k", 300)
	cases := []struct {
		name, key string
		asIs      bool
	}{
		{"plain", "user/42", true},
		{"utf8", "ключ", true},
		{"space", "with space", false},
		{"newline", "a\nb", false},
		{"nul", "x\x00y", false},
		{"del", "x\x7fy", false},
		{"hash mark", "a#b", false},
		{"too long", long, false},
		{"just fits", strings.Repeat("k", maxKeyLen-len(p)), true},
		{"one over", strings.Repeat("k", maxKeyLen-len(p)+1), false},
		{"empty", "", true},
	}
	seen := map[string]string{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := storeKey(p, tc.key)
			assert.LessOrEqual(t, len(got), maxKeyLen)
			for i := len(p); i < len(got); i++ {
				assert.True(t, got[i] > ' ' && got[i] != 0x7f, "byte %d of %q", i, got)
			}
			if tc.asIs {
				assert.Equal(t, p+tc.key, got)
			} else {
				assert.Contains(t, got, "#")
				assert.True(t, strings.HasPrefix(got, p))
			}
			if other, dup := seen[got]; dup {
				t.Fatalf("%q and %q map to one key", other, tc.key)
			}
			seen[got] = tc.key
		})
	}
	// Keys differing only past the readable prefix, or only in unsafe bytes
	// that become '_', stay distinct.
	assert.NotEqual(t, storeKey(p, long+"a"), storeKey(p, long+"b"))
	assert.NotEqual(t, storeKey(p, "a b"), storeKey(p, "a\tb"))
	assert.NotEqual(t, storeKey(p, "a b"), storeKey(p, "a_b"))
	assert.Equal(t, p+"with_space#", storeKey(p, "with space")[:len(p)+11], "readable prefix kept")
}

func FuzzStoreKey(f *testing.F) {
	f.Add("plain", "other")
	f.Add("a b", "a_b")
	f.Add(strings.Repeat("x", 260), strings.Repeat("x", 261))
	f.Fuzz(func(t *testing.T, a, b string) {
		const p = "namespace:1700000000000000000:"
		ka, kb := storeKey(p, a), storeKey(p, b)
		if len(ka) > maxKeyLen {
			t.Fatalf("key of %d bytes", len(ka))
		}
		for i := range len(ka) {
			if ka[i] <= ' ' || ka[i] == 0x7f {
				t.Fatalf("unsafe byte %#x", ka[i])
			}
		}
		if a != b && ka == kb {
			t.Fatalf("%q and %q collide", a, b)
		}
	})
}
