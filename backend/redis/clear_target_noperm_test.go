package redisstore_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestClearFailsWhereReshardingTargetRefusesMyID: as
// TestClearFailsWhereReshardingTargetRefusesCredentials, but the resharding
// target's ACL (mid-rollout, per node) refuses CLUSTER MYID and NODES to the
// client's user: NOPERM was skipped as "another server" and Clear returned
// nil with the moved keys left. It must fail, or have deleted them.
func TestClearFailsWhereReshardingTargetRefusesMyID(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "permtarget"})
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
	require.NoError(t, c.admin[2].Do(bg, "acl", "setuser", "default", "-cluster|myid", "-cluster|nodes").Err())

	err = b.Clear(bg)
	n, derr := c.admin[2].DBSize(bg).Result()
	require.NoError(t, derr)
	if err == nil {
		assert.Zero(t, n, "Clear returned nil and left %d moved keys on the resharding target", n)
	}
}
