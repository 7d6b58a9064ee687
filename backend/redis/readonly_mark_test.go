package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestAddAfterReadOnlyAndAskFindsKey: an Add of a key that holds an
// entry, on a master of the shared Cluster (seen through a proxy) that
// answers its first try READONLY (a master demoted by a failover) and its
// second, after go-redis's Cluster loop reloaded its view, ASK (the slot
// migrating): go-redis sends it again after ASKING, in a pipeline, whose
// error it returns as the command holds it. The Store marked the
// command's error once a try was answered READONLY (to read its
// caller's deadline as of that answer), and took the mark off the
// command only: the error Add got back was the mark over the miss, not
// redis.Nil, and the Add of a key that holds an entry failed where it
// reports "not added". No error the Store returns bears the mark now.
func TestAddAfterReadOnlyAndAskFindsKey(t *testing.T) {
	bg := context.Background()
	c := onTwoMasters(t)
	marker := []byte(c.prefix + c.keys[0])
	slot := redisstore.SlotOf(c.prefix, c.keys[0])
	var tries atomic.Int32 // of the armed call: 0, disarmed
	p := testutil.StartProxy(t, c.nodes[0], testutil.ProxyOptions{Request: func(chunk []byte) []byte {
		if !bytes.Contains(chunk, marker) || tries.Load() == 0 {
			return nil
		}
		switch tries.Add(1) {
		case 2:
			return []byte("-READONLY You can't write against a read only replica.\r\n")
		case 3:
			return fmt.Appendf(nil, "-ASK %d %s\r\n", slot, c.nodes[0])
		}
		return nil // the ASKING and the Add's SET NX, to the master
	}})
	b := redisstore.Must(redisstore.Options{Prefix: c.prefix, ClientOptions: &redis.UniversalOptions{
		Addrs: c.addrs, Dialer: dialerVia(c.nodes[0], p.Addr(), nil),
	}})
	t.Cleanup(func() { _ = b.Close() })
	require.NoError(t, b.Set(bg, c.keys[0], []byte("v"), time.Minute))
	tries.Store(1)
	added, err := b.Add(bg, c.keys[0], []byte("w"), time.Minute)
	tries.Store(0)
	require.NoError(t, err, "the key holds an entry: not added, no error")
	assert.False(t, added)
	v, err := b.Get(bg, c.keys[0])
	require.NoError(t, err)
	assert.Equal(t, "v", string(v), "the entry is kept")
}

// TestNoRetryMissAllocatesNothing: go-redis sets the error of each try of
// a command the Store sends wrapped in a noRetry type (twice a try on a
// Cluster: its node's client and its own loop), and the wrapper asked
// go-redis whether it was a READONLY answer (two errors.As, each an
// allocation) for every error: the miss (redis.Nil) of each Add that
// finds its key (a lease another caller holds) cost four allocations
// more. A miss is told apart first, at no cost.
func TestNoRetryMissAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under the race detector")
	}
	cmd := redis.NewStatusCmd(context.Background(), "set", "k", "v", "nx")
	assert.Zero(t, testutil.AllocsPerRun(100, func() { redisstore.SetErrNoRetry(cmd, redis.Nil) }))
	assert.Equal(t, redis.Nil, cmd.Err(), "a miss is kept as it is")
}
