package pool_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestSnapshotBoundsAHungSource: a source that never returned (a program's
// own source waiting on a lock or a server) held every report forever: the
// stats endpoint never answered, and each Prometheus scrape of a metrics
// Collector given the Registry left its goroutines behind, one more pile at
// every scrape, without bound. A report waits for a source a bounded time
// and reports it as an error, and a source whose call has not returned is
// not called again: concurrent and later reports wait on the same call.
// Once it returns, it is reported again.
func TestSnapshotBoundsAHungSource(t *testing.T) {
	release := make(chan struct{})
	var unblock sync.Once
	defer unblock.Do(func() { close(release) })
	var calls atomic.Int64
	var reg pool.Registry
	require.NoError(t, reg.Register("hung", func() any {
		calls.Add(1)
		<-release
		return "late"
	}))
	require.NoError(t, reg.RegisterMemcache("good", memcache.New("127.0.0.1:1")))

	const reports = 20
	snaps := make([]map[string]any, reports)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for i := range reports {
			wg.Go(func() { snaps[i] = reg.Snapshot() })
		}
		wg.Wait()
		snaps = append(snaps, reg.Snapshot()) // a later one, the call still hung
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a report waited for a source that never returns")
	}
	for i, snap := range snaps {
		assert.Equal(t, map[string]string{"error": "pool: the source did not answer in time"}, snap["hung"], "report %d", i)
		if assert.IsType(t, pool.Stats{}, snap["good"], "report %d", i) {
			assert.Equal(t, "memcache", snap["good"].(pool.Stats).Kind, "report %d", i)
		}
	}
	assert.Equal(t, int64(1), calls.Load(), "a hung source was called again: one goroutine more per report")

	unblock.Do(func() { close(release) })
	assert.Equal(t, "late", reg.Snapshot()["hung"], "a source that answers again is reported again")
}
