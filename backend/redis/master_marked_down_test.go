package redisstore_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// markDown fails calls for key (on a master that does not answer) until the
// Store refuses one with backend.ErrServerDown, and returns how many calls
// it took and the refusal; each call is bounded by a deadline of its own
// (a master that hangs costs that), the test by its count.
func markDown(t *testing.T, b *redisstore.Store, key string) (int, error) {
	t.Helper()
	for n := 1; n <= 10; n++ {
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := b.Get(ctx, key)
		cancel()
		require.Error(t, err, "a key on a master down")
		if errors.Is(err, backend.ErrServerDown) {
			return n, err
		}
	}
	t.Fatal("the master was never marked down")
	return 0, nil
}

// ownClusterStore starts a Cluster of 3 masters of the test's own, and
// returns it, a Store on it under prefix, and a key set on each master.
func ownClusterStore(t *testing.T, prefix string) (*ownCluster, *redisstore.Store, []string) {
	t.Helper()
	c := startOwnCluster(t, 3, 3)
	b := redisstore.Must(redisstore.Options{URL: c.url(""), Prefix: prefix})
	t.Cleanup(func() { _ = b.Close() })
	return c, b, c.setOnEach(t, b, 3)
}

// Regression: on a Cluster with one master killed, every call for its keys
// failed, each counted by the caching package's breaker against the whole
// Store, which then bypassed the live masters' keys too. After 3 failures
// in a row the master is now marked down: its keys are refused at once with
// backend.ErrServerDown (neutral) by every operation, the calls on several
// keys skip them, and the other masters' keys are served; once the master
// is back, its keys are served again after the cool-down.
func TestClusterMasterKilledIsMarkedDown(t *testing.T) {
	t.Parallel()
	c, b, keys := ownClusterStore(t, "marked-down")
	ctx := context.Background()
	c.nodes[2].Stop()

	n, err := markDown(t, b, keys[2])
	assert.Equal(t, 4, n, "3 failures in a row, then the refusal")
	assert.Contains(t, err.Error(), c.nodes[2].Addr, "the refusal names the master")
	assert.NotContains(t, err.Error(), keys[2], "no key in errors")
	assert.True(t, strings.HasPrefix(err.Error(), "redisstore: get: "), "names the op: %v", err)

	// Every operation of a key on the dead master is refused, neutral.
	dead := keys[2]
	refusals := map[string]error{}
	_, refusals["get"] = b.Get(ctx, dead)
	refusals["set"] = b.Set(ctx, dead, []byte("v"), time.Minute)
	_, refusals["add"] = b.Add(ctx, dead, []byte("v"), time.Minute)
	_, refusals["incr"] = b.Incr(ctx, dead, 1)
	_, refusals["has"] = b.Has(ctx, dead)
	refusals["delete"] = b.Delete(ctx, dead)
	for op, err := range refusals {
		assert.ErrorIs(t, err, backend.ErrServerDown, op)
		assert.Contains(t, err.Error(), "redisstore: "+op+": ", op)
	}

	// The live masters' keys are served.
	v, err := b.Get(ctx, keys[0])
	require.NoError(t, err)
	assert.Equal(t, "v-"+keys[0], string(v))

	// GetMany reads the live keys and names the dead one, neutral.
	got, err := b.GetMany(ctx, keys)
	var partial *backend.GetManyError
	require.True(t, errors.As(err, &partial), "a *backend.GetManyError, got %v", err)
	assert.Equal(t, []int{2}, partial.Unread)
	assert.True(t, backend.Neutral(err), "only a refusal: %v", err)
	assert.Equal(t, [][]byte{[]byte("v-" + keys[0]), []byte("v-" + keys[1]), nil}, got)

	// SetMany stores the live items; the dead one's refusal is neutral.
	items := make([]backend.Item, 3)
	for i, k := range keys {
		items[i] = backend.Item{Key: k, Value: []byte("w"), TTL: time.Minute}
	}
	err = b.SetMany(ctx, items)
	assert.ErrorIs(t, err, backend.ErrServerDown)
	got, err = b.GetMany(ctx, keys[:2])
	require.NoError(t, err)
	assert.Equal(t, [][]byte{[]byte("w"), []byte("w")}, got)

	// DeleteCount deletes the live keys and counts them.
	deleted, err := b.DeleteCount(ctx, keys...)
	assert.ErrorIs(t, err, backend.ErrServerDown)
	assert.Equal(t, 2, deleted)

	// The master back: after the cool-down a call probes it, and its keys
	// are served again.
	c.nodes[2].Start()
	require.Eventually(t, func() bool {
		_, err := b.Get(ctx, dead)
		return errors.Is(err, backend.ErrNotFound) // answered: the restart lost the value
	}, 20*time.Second, 50*time.Millisecond)
	require.NoError(t, b.Set(ctx, dead, []byte("back"), time.Minute))
	v, err = b.Get(ctx, dead)
	require.NoError(t, err)
	assert.Equal(t, "back", string(v))
}

// A master that hangs (SIGSTOP: every call waits for its deadline) is
// marked down the same way: the refusal comes back although the master
// never answers; SIGCONT brings its keys back.
func TestClusterMasterHungIsMarkedDown(t *testing.T) {
	t.Parallel()
	c, b, keys := ownClusterStore(t, "hung-down")
	ctx := context.Background()
	resume := c.hang(t, 1)

	_, err := markDown(t, b, keys[1])
	assert.ErrorIs(t, err, backend.ErrServerDown)
	// Under a context without a deadline: a call that were sent would wait
	// for the master for ever (ReadTimeout per try).
	_, err = b.Get(ctx, keys[1])
	assert.ErrorIs(t, err, backend.ErrServerDown)
	v, err := b.Get(ctx, keys[2])
	require.NoError(t, err)
	assert.Equal(t, "v-"+keys[2], string(v))

	resume()
	require.Eventually(t, func() bool {
		v, err := b.Get(ctx, keys[1])
		return err == nil && string(v) == "v-"+keys[1]
	}, 20*time.Second, 50*time.Millisecond)
}

// With every master down, the refusals do not wrap backend.ErrServerDown:
// the Store as a whole is down, and the caching package's breaker must
// count them and open.
func TestClusterEveryMasterDownRefusalsAreNotNeutral(t *testing.T) {
	t.Parallel()
	c, b, keys := ownClusterStore(t, "all-down")
	ctx := context.Background()
	for _, p := range c.nodes {
		p.Stop()
	}
	for i, k := range keys[:2] {
		_, err := markDown(t, b, k)
		assert.ErrorIs(t, err, backend.ErrServerDown, "master %d, with another one up", i)
	}
	for n := 1; n <= masterDownAfter; n++ {
		_, err := b.Get(ctx, keys[2])
		require.Error(t, err)
		require.NotContains(t, err.Error(), "marked down", "call %d: failed, not refused", n)
	}
	for _, k := range keys {
		// A master marked down is probed again after masterRetry (a
		// second): on a loaded machine the first two may be due by now,
		// and their probe, refused, marks them down again.
		var err error
		for try := 0; try < 3; try++ {
			_, err = b.Get(ctx, k)
			require.Error(t, err)
			if strings.Contains(err.Error(), "marked down") {
				break
			}
		}
		assert.Contains(t, err.Error(), "marked down")
		assert.False(t, backend.Neutral(err), "every master down: %v", err)
	}
	_, err := b.GetMany(ctx, keys)
	require.Error(t, err)
	assert.False(t, backend.Neutral(err), "every master down: %v", err)
}

// masterDownAfter is the package's: failures in a row that mark a master
// down.
const masterDownAfter = 3

// Regression: a context deadline that ended a call counted as a connection
// failure of the key's master, whoever set it: three callers in a row with
// a deadline too short for any server (already passed, or a millisecond)
// marked a healthy master down, and its keys were refused to every caller
// for a second. A deadline now counts against the master only when it left
// the call time enough to blame the master (a Cache's Options.Timeout).
func TestClusterImpatientCallersDoNotMarkMasterDown(t *testing.T) {
	t.Parallel()
	_, b, keys := ownClusterStore(t, "impatient")
	for n := 1; n <= 2*masterDownAfter; n++ {
		ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		_, err := b.Get(ctx, keys[0])
		cancel()
		require.Error(t, err, "call %d: its deadline had passed", n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := b.Get(ctx, keys[0])
	require.NoError(t, err, "a healthy master, after impatient callers")
	assert.Equal(t, "v-"+keys[0], string(v))
	got, err := b.GetMany(ctx, keys)
	require.NoError(t, err)
	assert.Len(t, got, len(keys))
}

// Concurrent calls of every kind while a master hangs and resumes several
// times (SIGSTOP, SIGCONT): under -race, the health of the masters is
// shared safely, and once the master is back for good every key is served
// again (no master kept marked down).
func TestClusterMasterFlapsUnderConcurrentCalls(t *testing.T) {
	t.Parallel()
	c, b, keys := ownClusterStore(t, "flap")
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items := []backend.Item{{Key: keys[0], Value: []byte("v-" + keys[0]), TTL: time.Minute},
				{Key: keys[1], Value: []byte("v-" + keys[1]), TTL: time.Minute}}
			for {
				select {
				case <-stop:
					return
				default:
				}
				ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
				switch w % 4 {
				case 0:
					_, _ = b.Get(ctx, keys[w%len(keys)])
				case 1:
					_, _ = b.GetMany(ctx, keys)
				case 2:
					_ = b.SetMany(ctx, items)
				case 3:
					_, _ = b.Has(ctx, keys[1])
				}
				cancel()
			}
		}()
	}
	for range 4 {
		resume := c.hang(t, 1)
		time.Sleep(700 * time.Millisecond) // a hang long enough to be marked down
		resume()
		time.Sleep(300 * time.Millisecond)
	}
	close(stop)
	wg.Wait()

	ctx := context.Background()
	require.Eventually(t, func() bool {
		got, err := b.GetMany(ctx, keys)
		if err != nil {
			return false
		}
		for i, k := range keys {
			if string(got[i]) != "v-"+k {
				return false
			}
		}
		return true
	}, 20*time.Second, 50*time.Millisecond)
}
