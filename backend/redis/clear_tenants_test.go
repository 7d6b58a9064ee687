//go:build !plan9

package redisstore_test

import (
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// A prefix always ends with ':', so that no prefix is the start of another
// unless it is nested in it by whole segments.
func TestPrefixEndsWithColon(t *testing.T) {
	t.Parallel()
	m := miniredis.RunT(t)
	for give, want := range map[string]string{
		"":         "caching:",
		"t-1":      "t-1:",
		"app:":     "app:",
		"app:v2":   "app:v2:",
		"{myapp}":  "{myapp}:",
		"{myapp}:": "{myapp}:",
	} {
		b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr(), Prefix: give})
		t.Cleanup(func() { _ = b.Close() })
		assert.Equal(t, want, b.Prefix(), "Prefix %q", give)
	}
	b := redisstore.Must(redisstore.Options{URL: "redis://" + m.Addr(), Prefix: "myapp"})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(ctx(t), "k", []byte("v"), time.Minute))
	got, err := m.Get("myapp:k")
	require.NoError(t, err, "the key is stored under the prefix and ':'")
	assert.Equal(t, "v", got)
}

// siblingTenants are prefixes none of which is nested in another once the
// ':' is appended, though some start with others as written: "t-1" is the
// start of "t-10" and of "t-1x", "app:v1" of "app:v10:".
var siblingTenants = []string{"t-1", "t-10", "t-1x", "app:v1", "app:v10:", "app:v2:"}

// tenantKeys are keys each tenant writes: with a sibling's prefix written
// out as a plain concatenation, "0k" under "t-1" would be "k" under "t-10".
var tenantKeys = []string{"k", "0k", "x:k", "v2:k", ":k"}

// TestClearLeavesSiblingTenants clears each of several tenants sharing a
// Redis in turn, and checks that their neighbours keep every key.
func TestClearLeavesSiblingTenants(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	checkSiblingClears(t, client)
}

// TestClearLeavesSiblingTenantsCluster is TestClearLeavesSiblingTenants on
// a Cluster, where Clear scans every master.
func TestClearLeavesSiblingTenantsCluster(t *testing.T) {
	t.Parallel()
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	checkSiblingClears(t, client)
}

func checkSiblingClears(t *testing.T, client redis.UniversalClient) {
	base := uniquePrefix(t)
	stores := make([]*redisstore.Store, len(siblingTenants))
	for i, p := range siblingTenants {
		stores[i] = redisstore.Must(redisstore.Options{Client: client, Prefix: base + p})
		t.Cleanup(func() { _ = stores[i].Clear(ctx(t)) })
	}
	for cleared := range stores {
		for i, s := range stores {
			for _, k := range tenantKeys {
				require.NoError(t, s.Set(ctx(t), k, []byte(siblingTenants[i]), time.Minute))
			}
		}
		require.NoError(t, stores[cleared].Clear(ctx(t)))
		for i, s := range stores {
			for _, k := range tenantKeys {
				v, err := s.Get(ctx(t), k)
				if i == cleared {
					assert.ErrorIs(t, err, backend.ErrNotFound, "%q: Clear left %q", siblingTenants[i], k)
					continue
				}
				if assert.NoError(t, err, "Clear of %q removed %q of %q", siblingTenants[cleared], k, siblingTenants[i]) {
					assert.Equal(t, siblingTenants[i], string(v), "%q: %q", siblingTenants[i], k)
				}
			}
		}
	}
}

// A nested prefix lies under the outer one, as the package doc says: the
// outer Store's Clear deletes the inner one's keys too, and the inner's
// Clear leaves the outer's.
func TestClearNestedPrefix(t *testing.T) {
	t.Parallel()
	client := redis.NewClient(&redis.Options{Addr: testutil.RedisAddr(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = client.Close() })
	base := uniquePrefix(t)
	outer := redisstore.Must(redisstore.Options{Client: client, Prefix: base + "app:"})
	inner := redisstore.Must(redisstore.Options{Client: client, Prefix: base + "app:v2:"})
	t.Cleanup(func() { _ = outer.Clear(ctx(t)) })

	require.NoError(t, outer.Set(ctx(t), "k", []byte("outer"), time.Minute))
	require.NoError(t, inner.Set(ctx(t), "k", []byte("inner"), time.Minute))
	require.NoError(t, inner.Clear(ctx(t)))
	_, err := outer.Get(ctx(t), "k")
	require.NoError(t, err, "the inner Clear leaves the outer keys")

	require.NoError(t, inner.Set(ctx(t), "k", []byte("inner"), time.Minute))
	require.NoError(t, outer.Clear(ctx(t)))
	_, err = inner.Get(ctx(t), "k")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the outer Clear deletes the nested prefix's keys")
}
