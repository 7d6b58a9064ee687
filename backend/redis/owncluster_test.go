package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// ownCluster is a Redis Cluster of the test's own, which the test may stop,
// hang and reshard: never the shared one of .ci/services.sh.
type ownCluster struct {
	nodes []*testutil.Process
	admin []*redis.Client // one plain client per node, in nodes' order
	ids   []string        // each node's cluster id
	rc    *testutil.RedisCluster
}

// startOwnCluster starts n cluster-enabled redis-servers (skipped without
// redis-server, failed under CI=true) and joins them into one Cluster in
// which the first withSlots nodes share the 16384 slots and the others are
// masters without a slot (testutil.StartRedisCluster). It returns once
// every node sees the Cluster ok.
func startOwnCluster(t *testing.T, n, withSlots int) *ownCluster {
	t.Helper()
	rc := testutil.StartRedisCluster(t, n, withSlots)
	return &ownCluster{nodes: rc.Nodes, admin: rc.Admin, ids: rc.IDs, rc: rc}
}

// url returns a redis+cluster URL seeded with every node, and query.
func (c *ownCluster) url(query string) string { return c.rc.URL(query) }

// pid returns the process id of node i.
func (c *ownCluster) pid(t *testing.T, i int) int {
	t.Helper()
	info, err := c.admin[i].Info(context.Background(), "server").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "process_id:"); ok {
			n, err := strconv.Atoi(v)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatal("no process_id in INFO")
	return 0
}

// keyOn returns a key (without prefix) that, under prefix, lives on node i.
func (c *ownCluster) keyOn(t *testing.T, prefix string, i int) string {
	t.Helper()
	for k := 0; k < 100000; k++ {
		key := "k" + strconv.Itoa(k)
		slot, err := c.admin[0].ClusterKeySlot(context.Background(), prefix+key).Result()
		require.NoError(t, err)
		if c.owner(t, int(slot)) == i {
			return key
		}
	}
	t.Fatalf("no key on node %d", i)
	return ""
}

// owner returns the index of the node that owns slot.
func (c *ownCluster) owner(t *testing.T, slot int) int {
	t.Helper()
	//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis the package supports; SHARDS needs 7.0
	slots, err := c.admin[0].ClusterSlots(context.Background()).Result()
	require.NoError(t, err)
	for _, s := range slots {
		if slot >= int(s.Start) && slot <= int(s.End) {
			for i, p := range c.nodes {
				if p.Addr == s.Nodes[0].Addr {
					return i
				}
			}
		}
	}
	t.Fatalf("slot %d has no owner", slot)
	return -1
}

// tagOn returns a hash tag ("{t7}") whose slot node i owns.
func (c *ownCluster) tagOn(t *testing.T, i int) string {
	t.Helper()
	for k := 0; k < 100000; k++ {
		tag := "{t" + strconv.Itoa(k) + "}"
		slot, err := c.admin[0].ClusterKeySlot(context.Background(), tag).Result()
		require.NoError(t, err)
		if c.owner(t, int(slot)) == i {
			return tag
		}
	}
	t.Fatalf("no hash tag on node %d", i)
	return ""
}

// setOnEach writes, through b, "v-"+key under a key on each of the first n
// nodes, and returns the keys (without prefix) in the nodes' order.
func (c *ownCluster) setOnEach(t *testing.T, b *redisstore.Store, n int) []string {
	t.Helper()
	keys := make([]string, n)
	for i := range keys {
		keys[i] = c.keyOn(t, b.Prefix(), i)
		require.NoError(t, b.Set(context.Background(), keys[i], []byte("v-"+keys[i]), time.Minute))
	}
	return keys
}

// overBulkLen lowers every node's proto-max-bulk-len to 1mb and returns a
// key longer than that, which a Store refuses (backend.ErrKeyRefused) once
// it has read the limit.
func (c *ownCluster) overBulkLen(t *testing.T) string {
	t.Helper()
	for _, a := range c.admin {
		require.NoError(t, a.ConfigSet(context.Background(), "proto-max-bulk-len", "1mb").Err())
	}
	return strings.Repeat("l", 1<<20)
}
