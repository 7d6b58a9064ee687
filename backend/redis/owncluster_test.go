package redisstore_test

import (
	"context"
	"fmt"
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
}

// startOwnCluster starts n cluster-enabled redis-servers (skipped without
// redis-server, failed under CI=true) and joins them into one Cluster in
// which the first withSlots nodes share the 16384 slots and the others are
// masters without a slot. It returns once every node sees the Cluster ok.
func startOwnCluster(t *testing.T, n, withSlots int) *ownCluster {
	t.Helper()
	c := &ownCluster{}
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		p := testutil.StartProcess(t, "redis-server", func(port int) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "15000"}
		})
		a := redis.NewClient(&redis.Options{Addr: p.Addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = a.Close() })
		c.nodes, c.admin = append(c.nodes, p), append(c.admin, a)
	}
	bg := context.Background()
	per := 16384 / withSlots
	for i, a := range c.admin {
		id, err := a.Do(bg, "cluster", "myid").Text()
		require.NoError(t, err)
		c.ids = append(c.ids, id)
		require.NoError(t, a.Do(bg, "cluster", "set-config-epoch", i+1).Err())
		if i < withSlots {
			last := (i+1)*per - 1
			if i == withSlots-1 {
				last = 16383
			}
			require.NoError(t, a.Do(bg, "cluster", "addslotsrange", i*per, last).Err())
		}
	}
	for _, p := range c.nodes[1:] {
		require.NoError(t, c.admin[0].Do(bg, "cluster", "meet", "127.0.0.1", p.Port).Err())
	}
	deadline := time.Now().Add(30 * time.Second)
	for !c.settled(n) {
		require.True(t, time.Now().Before(deadline), "the test's own Cluster did not settle")
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// settled reports whether every node knows all n nodes, says the Cluster is
// ok and lists the same slot owners.
func (c *ownCluster) settled(n int) bool {
	bg := context.Background()
	want := ""
	for _, a := range c.admin {
		info, err := a.ClusterInfo(bg).Result()
		if err != nil || !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, fmt.Sprintf("cluster_known_nodes:%d\r", n)) {
			return false
		}
		//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis the package supports; SHARDS needs 7.0
		slots, err := a.ClusterSlots(bg).Result()
		if err != nil {
			return false
		}
		got := fmt.Sprint(len(slots))
		for _, s := range slots {
			got += fmt.Sprintf(" %d-%d@%s", s.Start, s.End, s.Nodes[0].Addr)
		}
		if want == "" {
			want = got
		} else if got != want {
			return false
		}
	}
	return true
}

// url returns a redis+cluster URL seeded with every node, and query.
func (c *ownCluster) url(query string) string {
	addrs := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		addrs[i] = p.Addr
	}
	u := "redis+cluster://" + strings.Join(addrs, ",")
	if query != "" {
		u += "?" + query
	}
	return u
}

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
