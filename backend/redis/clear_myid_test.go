package redisstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// failMyID is a go-redis hook that fails the next left CLUSTER MYIDs sent
// through the node clients it is added to, as a lost connection would.
type failMyID struct{ left atomic.Int64 }

func (h *failMyID) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failMyID) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (h *failMyID) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(fmt.Sprint(cmd.Args()...), "clustermyid") && h.left.Add(-1) >= 0 {
			err := errors.New("i/o timeout (the test's hook)")
			cmd.SetErr(err)
			return err
		}
		return next(ctx, cmd)
	}
}

// reshardingStore starts a Cluster of three masters, the third without a
// slot, and a Store on it whose node clients go through hook; it writes
// ten keys into one slot of the first master and moves five of them to the
// third (a resharding onto a new node, which CLUSTER SLOTS does not list
// yet). It returns the Store and the Cluster.
func reshardingStore(t *testing.T, hook redis.Hook, prefix string) (*redisstore.Store, *ownCluster, []string) {
	t.Helper()
	c := startOwnCluster(t, 3, 2)
	addrs := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		addrs[i] = p.Addr
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	cc.OnNewNode(func(node *redis.Client) { node.AddHook(hook) })
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
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
	n, err := c.admin[2].DBSize(bg).Result()
	require.NoError(t, err)
	require.EqualValues(t, 5, n, "the new master holds the moved keys")
	return b, c, keys
}

// keysLeft returns how many keys the nodes of c hold, all told.
func (c *ownCluster) keysLeft(t *testing.T) int64 {
	t.Helper()
	var all int64
	for _, a := range c.admin {
		n, err := a.DBSize(context.Background()).Result()
		require.NoError(t, err)
		all += n
	}
	return all
}

// TestClearDuringReshardWithOneMyIDFailing: while a master that owns no
// slot yet holds keys moved to it, one CLUSTER MYID that fails (a lost
// connection) made Clear skip that master and return nil, its keys left
// readable. Clear now asks again; a MYID that keeps failing fails Clear.
func TestClearDuringReshardWithOneMyIDFailing(t *testing.T) {
	t.Parallel()
	t.Run("once", func(t *testing.T) {
		t.Parallel()
		hook := &failMyID{}
		b, c, _ := reshardingStore(t, hook, "myid1")
		hook.left.Store(1)
		err := b.Clear(context.Background())
		if err == nil {
			assert.Zero(t, c.keysLeft(t), "Clear returned nil and left keys of its prefix")
		}
		assert.NoError(t, err, "one failed CLUSTER MYID is asked again")
	})
	t.Run("always", func(t *testing.T) {
		t.Parallel()
		hook := &failMyID{}
		b, c, _ := reshardingStore(t, hook, "myid2")
		hook.left.Store(1 << 30)
		err := b.Clear(context.Background())
		if err == nil {
			assert.Zero(t, c.keysLeft(t), "Clear returned nil and left keys of its prefix")
		}
		require.Error(t, err, "Clear could not tell the Cluster's masters and returned nil")
		assert.Contains(t, err.Error(), "CLUSTER MYID")
		hook.left.Store(0)
		require.NoError(t, b.Clear(context.Background()), "a retry clears")
		assert.Zero(t, c.keysLeft(t))
	})
	t.Run("refused", func(t *testing.T) {
		// A user whose ACL refuses CLUSTER MYID: Clear clears the masters
		// CLUSTER SLOTS lists and returns nil, as documented; asking again
		// would not change the answer.
		t.Parallel()
		hook := &failMyID{}
		b, c, _ := reshardingStore(t, hook, "myid3")
		for _, a := range c.admin {
			require.NoError(t, a.Do(context.Background(), "acl", "setuser", "default", "-cluster|myid").Err())
		}
		require.NoError(t, b.Clear(context.Background()))
		assert.EqualValues(t, 5, c.keysLeft(t), "the keys moved to the master without a slot survive")
	})
}
