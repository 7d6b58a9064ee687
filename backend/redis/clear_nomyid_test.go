package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// noMyIDConn makes its server a Redis before 7.0, which has no CLUSTER
// MYID: it renames the subcommand of every CLUSTER MYID it sends, so that
// the real server answers "ERR unknown subcommand 'MYIX'", the refusal
// Redis 6 gives for MYID. Everything else goes through unchanged.
type noMyIDConn struct{ net.Conn }

func (c noMyIDConn) Write(p []byte) (int, error) {
	q := p
	for from := 0; ; {
		i := bytes.Index(bytes.ToLower(q[from:]), []byte("\r\n$4\r\nmyid\r\n"))
		if i < 0 {
			break
		}
		if &q[0] == &p[0] {
			q = bytes.Clone(p)
		}
		q[from+i+len("\r\n$4\r\nmyi")] = 'X'
		from += i + 1
	}
	return c.Conn.Write(q)
}

// dialNoMyID dials as go-redis does, through noMyIDConn.
func dialNoMyID(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return noMyIDConn{conn}, nil
}

// resharding writes ten keys into one slot of c's first master and moves
// five of them to its third, which owns no slot (the new node of a
// resharding: CLUSTER SLOTS does not list it).
func resharding(t *testing.T, c *ownCluster, b *redisstore.Store) {
	t.Helper()
	bg := context.Background()
	tag := c.tagOn(t, 0)
	var full []string
	for i := 0; i < 10; i++ {
		k := fmt.Sprintf("%sk%d", tag, i)
		full = append(full, b.Prefix()+k)
		require.NoError(t, b.Set(bg, k, []byte("v"), time.Minute))
	}
	slot, err := c.admin[0].ClusterKeySlot(bg, full[0]).Result()
	require.NoError(t, err)
	c.migrate(t, slot, 0, 2, full[:5]...)
	n, err := c.admin[2].DBSize(bg).Result()
	require.NoError(t, err)
	require.EqualValues(t, 5, n, "the new master holds the moved keys")
}

// clusterStore returns a Store on c whose connections go through dialer.
func clusterStore(t *testing.T, c *ownCluster, dialer func(context.Context, string, string) (net.Conn, error), prefix string) *redisstore.Store {
	t.Helper()
	addrs := make([]string, len(c.nodes))
	for i, p := range c.nodes {
		addrs[i] = p.Addr
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, Dialer: dialer, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// TestClearDuringReshardWithoutClusterMyID: on a Redis before 7.0 (no
// CLUSTER MYID) Clear took the unknown subcommand for a refusal and never
// looked for the masters that own no slot: the keys already moved to the
// new node of a resharding survived it. It now reads each master's id
// from the line of CLUSTER NODES flagged myself.
func TestClearDuringReshardWithoutClusterMyID(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := clusterStore(t, c, dialNoMyID, "nomyid")
	err := b.Client().Do(context.Background(), "cluster", "myid").Err()
	require.ErrorContains(t, err, "unknown subcommand", "the server acts as a Redis without CLUSTER MYID")
	resharding(t, c, b)
	require.NoError(t, b.Clear(context.Background()))
	assert.Zero(t, c.keysLeft(t), "Clear left the keys moved to the master that owns no slot")
}

// TestWatchSeesImportingMasterWithoutClusterMyID is
// TestWatchSeesImportingMaster on a Redis before 7.0 (no CLUSTER MYID):
// the watch never watched the master that owns no slot.
func TestWatchSeesImportingMasterWithoutClusterMyID(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 3, 2)
	b := clusterStore(t, c, dialNoMyID, "watchnomyid")
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
	ev.mu.Lock()
	before := ev.keys[k]
	ev.mu.Unlock()

	// The watch lists the masters every second: a write on the importing
	// master is seen once it has listed it. Write until one is.
	require.Eventually(t, func() bool {
		assert.NoError(t, b.Set(bg, k, []byte("v2"), time.Minute)) // go-redis follows ASK
		ev.mu.Lock()
		defer ev.mu.Unlock()
		return ev.keys[k] > before
	}, 15*time.Second, 100*time.Millisecond, "no write on the importing master was seen")
}

// TestClearMyIDFailingWithoutSlotlessMaster: a CLUSTER MYID that kept
// failing on a master CLUSTER SLOTS lists made Clear return an error even
// where no master owns no slot, though every master was cleared. Clear now
// errs only when CLUSTER NODES lists a master it could not match to one
// CLUSTER SLOTS lists.
func TestClearMyIDFailingWithoutSlotlessMaster(t *testing.T) {
	t.Parallel()
	c := startOwnCluster(t, 2, 2)
	addrs := []string{c.nodes[0].Addr, c.nodes[1].Addr}
	hook := &failMyID{}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	cc.OnNewNode(func(node *redis.Client) { node.AddHook(hook) })
	t.Cleanup(func() { _ = cc.Close() })
	b := redisstore.Must(redisstore.Options{Client: cc, Prefix: "myidnoextra"})
	t.Cleanup(func() { _ = b.Close() })
	bg := context.Background()
	for i := 0; i < 20; i++ {
		require.NoError(t, b.Set(bg, fmt.Sprint("k", i), []byte("v"), time.Minute))
	}
	hook.left.Store(1 << 30)
	require.NoError(t, b.Clear(bg), "every master was cleared")
	assert.Zero(t, c.keysLeft(t))
}
