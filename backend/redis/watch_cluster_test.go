package redisstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// TestWatchSeesImportingMaster: during a resharding onto a master that
// owned no slot before (CLUSTER SLOTS does not list it), a write to a key
// already moved lands on that master, and the watch reports it.
func TestWatchSeesImportingMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: "watchmig"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	ev := watchStore(t, b)
	ev.waitFor(t, "the watch", watching(true))

	k := c.keyOn(t, b.Prefix(), 0)
	require.NoError(t, b.Set(bg, k, []byte("v1"), time.Minute))
	ev.waitFor(t, "the first write", sawKey(k))
	slot, err := c.admin[0].ClusterKeySlot(bg, b.Prefix()+k).Result()
	require.NoError(t, err)
	c.migrate(t, slot, 0, 2, b.Prefix()+k)
	ev.waitFor(t, "the migration's delete on the source", func(e *events) bool { return e.keys[k] >= 2 })
	time.Sleep(2 * time.Second) // the watch lists the masters every second
	ev.mu.Lock()
	before := ev.keys[k]
	ev.mu.Unlock()

	// go-redis follows ASK to the importing master.
	require.NoError(t, b.Set(bg, k, []byte("v2"), time.Minute))
	got, err := b.Get(bg, k)
	require.NoError(t, err)
	require.Equal(t, "v2", string(got))
	ev.waitFor(t, "the write on the importing master", func(e *events) bool { return e.keys[k] > before })
}
