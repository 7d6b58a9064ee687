package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestClearFailsWhereReshardingTargetRefuses: a resharding target (a
// slotless master that already holds keys moved to it) that refuses the
// client's credentials (NOAUTH: its password set mid-rotation, while the
// others still accept the client) or CLUSTER MYID and NODES (NOPERM: its
// ACL changed first, in a per-node rollout) was skipped by Clear as
// "another server": Clear returned nil and the moved keys survived, to be
// served once the slot's move ends. Clear must fail instead, or have
// deleted them.
func TestClearFailsWhereReshardingTargetRefuses(t *testing.T) {
	bg := context.Background()
	for _, tc := range []struct {
		name   string
		refuse func(t *testing.T, c *ownCluster) *redis.Client // node 2's admin after
	}{
		{"NOAUTH", func(t *testing.T, c *ownCluster) *redis.Client {
			require.NoError(t, c.admin[2].ConfigSet(bg, "requirepass", "rotated").Err())
			node2 := redis.NewClient(&redis.Options{Addr: c.nodes[2].Addr, Password: "rotated", ContextTimeoutEnabled: true})
			t.Cleanup(func() {
				_ = node2.ConfigSet(context.Background(), "requirepass", "").Err()
				_ = node2.Close()
			})
			return node2
		}},
		{"NOPERM", func(t *testing.T, c *ownCluster) *redis.Client {
			require.NoError(t, c.admin[2].Do(bg, "acl", "setuser", "default", "-cluster|myid", "-cluster|nodes").Err())
			return c.admin[2]
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := startOwnCluster(t, 3, 2)
			b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "refusingtarget"})
			t.Cleanup(func() { _ = b.Close() })
			resharding(t, c, b)
			node2 := tc.refuse(t, c)

			err := b.Clear(bg)
			n, derr := node2.DBSize(bg).Result()
			require.NoError(t, derr)
			if err == nil {
				assert.Zero(t, n, "Clear returned nil and left %d moved keys on the resharding target", n)
			}
		})
	}
}

// TestClearWithACLRefusingMyIDEverywhere: one master owns every slot, a
// spare master owns none (no resharding, no keys on it), and the user's
// ACL, the same on every node, allows CLUSTER NODES but refuses CLUSTER
// MYID. The master answers the listing (CLUSTER NODES), so it is never
// asked MYID; the spare is, and refused it: every Clear failed. The
// spare's id comes from its own CLUSTER NODES instead.
func TestClearWithACLRefusingMyIDEverywhere(t *testing.T) {
	t.Parallel()
	bg := context.Background()
	c := startOwnCluster(t, 2, 1)
	for _, a := range c.admin {
		require.NoError(t, a.Do(bg, "acl", "setuser", "default", "-cluster|myid").Err())
	}
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "uniformacl"})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(bg, "k", []byte("v"), time.Minute))
	for i := 0; i < 3; i++ {
		require.NoError(t, b.Clear(bg), "Clear %d", i)
	}
	_, err := b.Get(bg, "k")
	require.Error(t, err)
}
