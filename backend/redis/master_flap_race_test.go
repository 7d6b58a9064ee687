package redisstore_test

import (
	"context"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// Concurrent calls of every kind while a master hangs and resumes several
// times (SIGSTOP, SIGCONT): under -race, the health of the masters is
// shared safely, and once the master is back for good every key is served
// again (no master kept marked down).
func TestClusterMasterFlapsUnderConcurrentCalls(t *testing.T) {
	t.Parallel()
	c, b, keys := ownClusterStore(t, "flap")
	pid := c.pid(t, 1)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })

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
		require.NoError(t, syscall.Kill(pid, syscall.SIGSTOP))
		time.Sleep(700 * time.Millisecond) // a hang long enough to be marked down
		require.NoError(t, syscall.Kill(pid, syscall.SIGCONT))
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
