package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: on a Redis Cluster with one master down, the Cache's circuit
// breaker counted the failures of the dead master's keys against the whole
// Store, opened after 5 in a row, and then refused the live masters' keys
// too: every request went to the origin. The Store now marks the master
// down after 3 failures and refuses its keys at once with
// backend.ErrServerDown, which the breaker does not count: the live
// masters' keys are read.
//
// The master is down as a client sees one killed: the real Cluster's
// topology (CLUSTER SLOTS), with the first master's address replaced by a
// loopback address where nothing listens, whose dials are refused.
func TestOneRedisClusterMasterDownLeavesTheOthersServing(t *testing.T) {
	ctx := context.Background()
	seeds := testutil.RedisClusterAddrs(t)
	admin := redis.NewClusterClient(&redis.ClusterOptions{Addrs: seeds})
	t.Cleanup(func() { _ = admin.Close() })
	//lint:ignore SA1019 CLUSTER SLOTS answers on every Redis the package supports; SHARDS needs 7.0
	slots, err := admin.ClusterSlots(ctx).Result()
	require.NoError(t, err)
	require.Greater(t, len(slots), 1)
	down, dead := slots[0].Nodes[0].Addr, deadMemcachedAddr(t)
	client := redis.NewClusterClient(&redis.ClusterOptions{
		ContextTimeoutEnabled: true,
		ClusterSlots: func(context.Context) ([]redis.ClusterSlot, error) {
			out := make([]redis.ClusterSlot, len(slots))
			for i, s := range slots {
				addr := s.Nodes[0].Addr
				if addr == down {
					addr = dead
				}
				out[i] = redis.ClusterSlot{Start: s.Start, End: s.End, Nodes: []redis.ClusterNode{{Addr: addr}}}
			}
			return out, nil
		},
	})
	t.Cleanup(func() { _ = client.Close() })
	b, err := redisstore.New(redisstore.Options{Client: client, Prefix: fmt.Sprint("master-down-", time.Now().UnixNano())})
	require.NoError(t, err)

	// Which keys are on the live masters: those a Cache without a breaker
	// can write.
	plain, err := New(&Options{Backend: b, Breaker: BreakerOptions{Threshold: -1}})
	require.NoError(t, err)
	var live, deadKeys []string
	for i := 0; len(live) < 20 || len(deadKeys) < 20; i++ {
		k := fmt.Sprint("k", i)
		if plain.Set(ctx, k, []byte("v-"+k), time.Minute) == nil {
			live = append(live, k)
		} else {
			deadKeys = append(deadKeys, k)
		}
	}

	c, err := New(&Options{Backend: b})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	for _, k := range deadKeys {
		_, err := c.Get(ctx, k)
		require.Error(t, err, "a key on the dead master")
	}
	bypassed := 0
	for _, k := range live {
		v, err := c.Get(ctx, k)
		if err != nil {
			require.ErrorIs(t, err, ErrUnavailable, "unexpected error")
			bypassed++
			continue
		}
		require.Equal(t, "v-"+k, string(v))
	}
	require.Zero(t, bypassed, "%d of the %d keys on the live masters were refused (breaker %s) because one master is down",
		bypassed, len(live), c.Stats().Breaker)
	require.Equal(t, "closed", c.Stats().Breaker)
	require.NotZero(t, c.Stats().Unavailable, "the dead master's keys refused at once count as unavailable")
}
