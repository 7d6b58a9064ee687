package redisstore_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// failHook, while on is set, makes the commands named fail fail as a
// reset connection, and in a pipeline: the command of a key that down
// names fails so, and an UNLINK of another key is refused as an unknown
// command (the UNLINK run is not sent).
type failHook struct {
	on   atomic.Bool
	fail string // the command that fails at the connection
	down func(key string) bool
}

type unknownCommand struct{}

func (unknownCommand) Error() string { return "ERR unknown command 'unlink'" }
func (unknownCommand) RedisError()   {}

// reset is a connection reset, as a read fails with it (its cause is not
// syscall.ECONNRESET, which Plan 9 lacks: a failing read is a failure at
// the connection, whatever its cause).
var reset = &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}

func (h *failHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *failHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if h.on.Load() && cmd.Name() == h.fail {
			cmd.SetErr(reset)
			return reset
		}
		return next(ctx, cmd)
	}
}

func (h *failHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !h.on.Load() {
			return next(ctx, cmds)
		}
		unlink := cmds[0].Name() == "unlink"
		if !unlink {
			_ = next(ctx, cmds) // the run again with DEL: sent, the failing master's then failed
		}
		var first error
		for _, c := range cmds {
			if k, _ := c.Args()[1].(string); h.down(k) {
				c.SetErr(reset)
			} else if unlink {
				c.SetErr(unknownCommand{})
			}
			if first == nil {
				first = c.Err()
			}
		}
		return first
	}
}

// hookedClusterStore is ownClusterStore with a client of its own, hooked
// by h, whose master 1 h fails.
func hookedClusterStore(t *testing.T, prefix string, h *failHook) (*ownCluster, *redisstore.Store, []string) {
	t.Helper()
	c := startOwnCluster(t, 3, 3)
	var addrs []string
	for _, n := range c.nodes {
		addrs = append(addrs, n.Addr)
	}
	cl := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ContextTimeoutEnabled: true})
	cl.AddHook(h)
	b := redisstore.Must(redisstore.Options{Client: cl, Prefix: prefix})
	t.Cleanup(func() { _ = b.Close(); _ = cl.Close() })
	keys := c.setOnEach(t, b, 3)
	h.down = func(k string) bool { return strings.HasSuffix(k, ":"+keys[1]) } // the key as sent
	return c, b, keys
}

// Regression: Add noted for the health of the key's master only its SET NX:
// the TYPE (and the script) that follow when the key exists failed at the
// connection unnoted, and the master's failure streak missed them. Each
// is now noted: after a failed TYPE, two more failures mark the master
// down.
func TestClusterAddFollowUpFailureCounts(t *testing.T) {
	t.Parallel()
	h := &failHook{fail: "type"}
	c, b, keys := hookedClusterStore(t, "add-followup", h)
	h.on.Store(true)
	_, err := b.Add(context.Background(), keys[1], []byte("w"), time.Minute)
	require.ErrorIs(t, err, reset, "SET NX found the key; its TYPE failed")
	h.on.Store(false)
	c.nodes[1].Stop()
	n, _ := markDown(t, b, keys[1])
	assert.Equal(t, masterDownAfter, n, "the failed TYPE, two failed Gets, then the refusal")
}

// Regression: a DeleteCount whose UNLINK a master refused runs again with
// DEL, and only that run's batches were noted for the health of their
// masters: a master that failed at the connection in both runs had one
// failure noted of two. Each run is now noted: it is a round trip of its
// own to each master.
func TestClusterDeleteUnlinkRunFailureCounts(t *testing.T) {
	t.Parallel()
	h := &failHook{fail: "unlink"}
	c, b, keys := hookedClusterStore(t, "unlink-run", h)
	h.on.Store(true)
	_, err := b.DeleteCount(context.Background(), keys[0], keys[1])
	require.ErrorIs(t, err, reset, "master 1 failed both runs")
	h.on.Store(false)
	c.nodes[1].Stop()
	n, _ := markDown(t, b, keys[1])
	assert.Equal(t, masterDownAfter-1, n, "the failures of both runs, one failed Get, then the refusal")
}
