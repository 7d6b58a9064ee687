package redisstore_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// migrateAfterScan is a hook on the client of a slot's source node: the
// first SCAN that returns keys of the slot moves them (MIGRATE, by the
// test's own client) to the importing node before Clear sees its answer,
// as a resharding can between Clear's SCAN and its deletes.
type migrateAfterScan struct {
	c        *ownCluster
	src, dst int
	slot     int64
	done     atomic.Bool
	moved    atomic.Int64
}

func (h *migrateAfterScan) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *migrateAfterScan) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *migrateAfterScan) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		sc, ok := cmd.(*redis.ScanCmd)
		if !ok || err != nil || !strings.EqualFold(cmd.Name(), "scan") {
			return err
		}
		keys, _ := sc.Val()
		bg := context.Background()
		for _, k := range keys {
			slot, kerr := h.c.admin[h.src].ClusterKeySlot(bg, k).Result()
			if kerr != nil || slot != h.slot || h.done.Load() {
				continue
			}
			if h.c.admin[h.src].Migrate(bg, "127.0.0.1", strconv.Itoa(h.c.nodes[h.dst].Port), k, 0, 5*time.Second).Err() == nil {
				h.moved.Add(1)
			}
		}
		if h.moved.Load() > 0 {
			h.done.Store(true)
		}
		return err
	}
}

// TestClearKeyMigratedAfterScan: during a resharding, a key that SCAN found
// on the source node and that moved to the importing node before Clear's
// delete reached it made the source answer -ASK, and Clear failed (the
// key, left on the importing node if that one was scanned first). Clear
// now deletes such a key where it went, and succeeds.
func TestClearKeyMigratedAfterScan(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 2, 2)
	bg := context.Background()
	tag := c.tagOn(t, 0)
	const prefix = "askclear:"
	slot, err := c.admin[0].ClusterKeySlot(bg, prefix+tag).Result()
	require.NoError(t, err)
	hook := &migrateAfterScan{c: c, src: 0, dst: 1, slot: slot}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{c.nodes[0].Addr, c.nodes[1].Addr}, ContextTimeoutEnabled: true})
	cc.OnNewNode(func(node *redis.Client) {
		if node.Options().Addr == c.nodes[0].Addr {
			node.AddHook(hook)
		}
	})
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	for i := 0; i < 10; i++ {
		require.NoError(t, b.Set(bg, fmt.Sprintf("%sk%d", tag, i), []byte("v"), time.Minute))
		require.NoError(t, b.Set(bg, fmt.Sprintf("other%d", i), []byte("v"), time.Minute))
	}
	require.NoError(t, c.admin[1].Do(bg, "cluster", "setslot", slot, "importing", c.ids[0]).Err())
	require.NoError(t, c.admin[0].Do(bg, "cluster", "setslot", slot, "migrating", c.ids[1]).Err())

	assert.NoError(t, b.Clear(bg), "a key that left the node after SCAN")
	require.Positive(t, hook.moved.Load(), "the hook moved keys between SCAN and the deletes")
	assert.Zero(t, c.keysLeft(t), "keys left after Clear")
}
