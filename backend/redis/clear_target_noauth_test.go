package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestClearFailsWhereReshardingTargetRefusesCredentials: a resharding
// target (a slotless master that already holds keys moved to it) that
// answers NOAUTH (its password set mid-rotation, while the others still
// accept the client) was skipped by Clear as "another server": Clear
// returned nil and the moved keys survived, to be served once the slot's
// move ends. Clear must fail instead, or have deleted them.
func TestClearFailsWhereReshardingTargetRefusesCredentials(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "authtarget"})
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
	c.migrate(t, slot, 0, 2, full[:5]...)
	require.NoError(t, c.admin[2].ConfigSet(bg, "requirepass", "rotated").Err())
	node2 := redis.NewClient(&redis.Options{Addr: c.nodes[2].Addr, Password: "rotated"})
	t.Cleanup(func() {
		_ = node2.ConfigSet(context.Background(), "requirepass", "").Err()
		_ = node2.Close()
	})

	err = b.Clear(bg)
	n, derr := node2.DBSize(bg).Result()
	require.NoError(t, derr)
	if err == nil {
		assert.Zero(t, n, "Clear returned nil and left %d moved keys on the resharding target", n)
	}
}
