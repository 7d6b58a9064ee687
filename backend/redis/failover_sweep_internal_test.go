package redisstore

import (
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// failoverFinder is a Cluster's view in which master a owns the lower half
// of the slots and b the upper half, until failover: b then owns them all
// (a's replica, promoted, at b's address: the test needs only that a owns
// no slot any more).
type failoverFinder struct {
	a, b       *redis.Client
	failedOver atomic.Bool
}

func (f *failoverFinder) MasterForKey(_ context.Context, key string) (*redis.Client, error) {
	if slot(key) < slotCount/2 && !f.failedOver.Load() {
		return f.a, nil
	}
	return f.b, nil
}

// Regression: after a failover, the dead master's address gets no call,
// none to probe it, and its failure streak stayed for ever: every call of
// every key kept looking up its master (the path the healthy Cluster
// skips with one atomic load). Once the dead master owns no slot, its
// streak is forgotten at the next call that looks one up, and calls go
// back to the healthy path.
func TestFailedOverMasterStreakIsForgotten(t *testing.T) {
	a := redis.NewClient(&redis.Options{Addr: "a.invalid:1"})
	b := redis.NewClient(&redis.Options{Addr: "b.invalid:1"})
	t.Cleanup(func() { _, _ = a.Close(), b.Close() })
	f := &failoverFinder{a: a, b: b}
	s := &Store{health: &clusterHealth{finder: f}}
	ctx := context.Background()
	key := "" // a key of a
	for i := 0; key == ""; i++ {
		if k := string(rune('a' + i)); slot(k) < slotCount/2 {
			key = k
		}
	}
	reset := &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}
	for range masterDownAfter {
		s.done(ctx, call{}, key, reset)
	}
	_, err := s.admitKey(ctx, "get", key)
	require.ErrorIs(t, err, backend.ErrServerDown, "a is marked down")

	f.failedOver.Store(true)
	s.health.sweepAt.Store(0) // a second has passed since the last sweep
	c, err := s.admitKey(ctx, "get", key)
	require.NoError(t, err, "the key's new master, b, is up")
	assert.Equal(t, "b.invalid:1", c.m.addr)
	assert.Zero(t, s.health.failing.Load(), "masters with a failure streak")
	c, err = s.admitKey(ctx, "get", key)
	require.NoError(t, err)
	assert.Nil(t, c.m, "a call looked up its master with no master failing")
}
