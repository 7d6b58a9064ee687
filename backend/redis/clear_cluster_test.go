package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// wrappedCluster is a client of the program's own that embeds a
// ClusterClient (instrumentation, a helper type).
type wrappedCluster struct{ *redis.ClusterClient }

// countLeft returns how many of keys b still has.
func countLeft(t *testing.T, b *redisstore.Store, keys []string) int {
	t.Helper()
	got, err := b.GetMany(context.Background(), keys)
	require.NoError(t, err)
	left := 0
	for _, v := range got {
		if v != nil {
			left++
		}
	}
	return left
}

// TestClearWrappedClusterClient: a Store given a type that embeds a
// *redis.ClusterClient clears every master, as with the ClusterClient
// itself (it SCANned one node and sent it multi-key UNLINKs: CROSSSLOT).
func TestClearWrappedClusterClient(t *testing.T) {
	t.Parallel()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: testutil.RedisClusterAddrs(t), ContextTimeoutEnabled: true, ReadTimeout: testutil.SlowTimeout, WriteTimeout: testutil.SlowTimeout})
	t.Cleanup(func() { _ = cc.Close() })
	prefix := uniquePrefix(t)
	b := redisstore.Must(redisstore.Options{Client: wrappedCluster{cc}, Prefix: prefix})
	t.Cleanup(func() {
		_ = redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix}).Clear(context.Background())
	})
	var keys []string
	for i := 0; i < 60; i++ {
		keys = append(keys, "k"+strconv.Itoa(i))
		require.NoError(t, b.Set(ctx(t), keys[i], []byte("v"), time.Minute))
	}
	require.NoError(t, b.Clear(ctx(t)))
	assert.Zero(t, countLeft(t, b, keys), "Clear left keys of its prefix")
}

// migrate starts moving slot from node src to node dst of c and moves the
// given full keys, as redis-cli --cluster reshard does; the test's end
// leaves the slot where it was.
func (c *ownCluster) migrate(t *testing.T, slot int64, src, dst int, fullKeys ...string) {
	t.Helper()
	bg := context.Background()
	require.NoError(t, c.admin[dst].Do(bg, "cluster", "setslot", slot, "importing", c.ids[src]).Err())
	require.NoError(t, c.admin[src].Do(bg, "cluster", "setslot", slot, "migrating", c.ids[dst]).Err())
	for _, k := range fullKeys {
		require.NoError(t, c.admin[src].Migrate(bg, "127.0.0.1", strconv.Itoa(c.nodes[dst].Port), k, 0, 5*time.Second).Err())
	}
}

// TestClearDuringReshardToNewMaster: while a slot moves to a master that
// owned no slot before (CLUSTER SLOTS does not list it yet), Clear deletes
// the keys already moved to it too, and those still on the source.
func TestClearDuringReshardToNewMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "mig"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	tag := c.tagOn(t, 0) // keys in one slot of node 0
	var keys, full []string
	for i := 0; i < 10; i++ {
		keys = append(keys, fmt.Sprintf("%sk%d", tag, i))
		full = append(full, b.Prefix()+keys[i])
		require.NoError(t, b.Set(bg, keys[i], []byte("v"), time.Minute))
	}
	slot, err := c.admin[0].ClusterKeySlot(bg, full[0]).Result()
	require.NoError(t, err)
	c.migrate(t, slot, 0, 2, full[:5]...)

	require.NoError(t, b.Clear(bg))
	for i, a := range c.admin {
		n, err := a.DBSize(bg).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "Clear returned nil and left %d keys of its prefix on node %d", n, i)
	}
}

// TestClearDuringReshardToExistingMaster: the same onto a master that owns
// other slots: the moved keys' UNLINK is answered MOVED without ASKING.
func TestClearDuringReshardToExistingMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 2, 2)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "mig2"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	tag := c.tagOn(t, 0)
	var keys, full []string
	for i := 0; i < 10; i++ {
		keys = append(keys, fmt.Sprintf("%sk%d", tag, i))
		full = append(full, b.Prefix()+keys[i])
		require.NoError(t, b.Set(bg, keys[i], []byte("v"), time.Minute))
	}
	slot, err := c.admin[0].ClusterKeySlot(bg, full[0]).Result()
	require.NoError(t, err)
	c.migrate(t, slot, 0, 1, full[:5]...)

	require.NoError(t, b.Clear(bg))
	for i, a := range c.admin {
		n, err := a.DBSize(bg).Result()
		require.NoError(t, err)
		assert.Zero(t, n, "Clear left %d keys of its prefix on node %d", n, i)
	}
}
