package testutil

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of a test's own, which the test may stop,
// hang and reshard: never the shared one of .ci/services.sh.
type RedisCluster struct {
	Nodes []*Process      // the redis-servers, in the order they were started
	Admin []*redis.Client // one plain client per node, in Nodes' order
	IDs   []string        // each node's cluster id, in Nodes' order
}

// StartRedisCluster starts n cluster-enabled redis-servers (skipped without
// redis-server, failed under CI=true) and joins them into one Cluster in
// which the first withSlots nodes share the 16384 slots and the others are
// masters without a slot. It returns once every node sees the Cluster ok;
// the servers are stopped when the test ends.
func StartRedisCluster(t testing.TB, n, withSlots int) *RedisCluster {
	t.Helper()
	c := &RedisCluster{}
	for i := 0; i < n; i++ {
		dir := t.TempDir()
		p := StartProcess(t, "redis-server", func(port int) []string {
			return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
				"--dir", dir, "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", "15000"}
		})
		a := redis.NewClient(&redis.Options{Addr: p.Addr, ContextTimeoutEnabled: true})
		t.Cleanup(func() { _ = a.Close() })
		c.Nodes, c.Admin = append(c.Nodes, p), append(c.Admin, a)
	}
	bg := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setting up the test's own Cluster: %v", err)
		}
	}
	per := 16384 / withSlots
	for i, a := range c.Admin {
		id, err := a.Do(bg, "cluster", "myid").Text()
		must(err)
		c.IDs = append(c.IDs, id)
		must(a.Do(bg, "cluster", "set-config-epoch", i+1).Err())
		if i < withSlots {
			last := (i+1)*per - 1
			if i == withSlots-1 {
				last = 16383
			}
			must(a.Do(bg, "cluster", "addslotsrange", i*per, last).Err())
		}
	}
	for _, p := range c.Nodes[1:] {
		must(c.Admin[0].Do(bg, "cluster", "meet", "127.0.0.1", p.Port).Err())
	}
	deadline := time.Now().Add(30 * time.Second)
	for !c.settled(n) {
		if !time.Now().Before(deadline) {
			t.Fatal("the test's own Cluster did not settle")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return c
}

// settled reports whether every node knows all n nodes, says the Cluster is
// ok and lists the same slot owners.
func (c *RedisCluster) settled(n int) bool {
	bg := context.Background()
	want := ""
	for _, a := range c.Admin {
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

// URL returns a redis+cluster URL seeded with every node, and query.
func (c *RedisCluster) URL(query string) string {
	addrs := make([]string, len(c.Nodes))
	for i, p := range c.Nodes {
		addrs[i] = p.Addr
	}
	u := "redis+cluster://" + strings.Join(addrs, ",")
	if query != "" {
		u += "?" + query
	}
	return u
}
