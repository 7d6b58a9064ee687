package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestStuckLeaseHolderWaitersOnRedis: as TestStuckLeaseHolderAcrossProcessesOnRedis,
// with a waiter of A's stuck leader (no CollapseTimeout in A). Once B's
// leader stored its response past A's lease, A's run, ending last, stores
// nothing (view.newerSinceLease); its waiter must not then run the stuck
// handler again on its own, as for a response it may not reuse: it is
// served B's entry, as a waiter that joins again finds it.
func TestStuckLeaseHolderWaitersOnRedis(t *testing.T) {
	const a, b = 0, 1
	p := newTakeoverProcs(t, 1, [2][]ViewOption{
		{Lease(time.Second)},
		{Lease(time.Second)},
	})
	var stuck, rest sync.WaitGroup
	lw := p.start(&stuck, a)
	until(t, "A's leader runs its handler", func() bool { return p.runs.Load() == 1 })
	aw := p.start(&stuck, a)
	until(t, "A's waiter waits for A's leader", func() bool { return p.joins.Load() == 1 })

	bl := p.start(&rest, b)
	rest.Wait() // B's leader runs once the lease's time is out, and stores
	assert.Equal(t, "run 2", bl.Body.String(), "B's leader ran past the lease")

	close(p.gates[0]) // A's stuck run ends, last
	stuck.Wait()
	assert.Equal(t, "run 1", lw.Body.String(), "its client gets its own response")
	assert.Equal(t, "run 2", aw.Body.String(), "A's waiter is served B's stored entry")
	assert.Equal(t, "HIT", aw.Header().Get("X-Cache"))
	assert.EqualValues(t, 2, p.runs.Load(), "the stuck handler is not run again for A's waiter")
	for i := range p.h {
		w := get(p.h[i], "/a")
		assert.Equal(t, "run 2", w.Body.String(), "process %d", i)
	}
}

// TestStuckLeaseHolder304WaitersOnRedis: as TestStuckLeaseHolderWaitersOnRedis,
// for a SharedCache view's revalidation: A's leader revalidates the stale
// entry under the lease, its origin stuck past the lease's time; B's
// leader then runs and stores a new response. A's 304, ending last, is not
// stored over it (view.newerSinceLease), and A's waiter is served B's entry
// rather than run the stuck handler again on its own.
func TestStuckLeaseHolder304WaitersOnRedis(t *testing.T) {
	const a, b = 0, 1
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	var runs, joins atomic.Int32
	gate := make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	hook := func(string) { joins.Add(1) }
	waiterJoinedHook.Store(&hook)
	t.Cleanup(func() { waiterJoinedHook.Store(nil) })
	var h [2]http.Handler
	for i := range h {
		be, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: be, Clock: clock})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		h[i] = c.Cached(time.Hour, CacheStatusHeader("X-Cache"), SharedCache(), Lease(time.Second))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=600")
			if n == 2 {
				<-gate // A's revalidation, stuck
				w.Header().Set("ETag", `"v1"`)
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, n))
			_, _ = fmt.Fprintf(w, "run %d", n)
		}))
	}
	assert.Equal(t, "run 1", get(h[a], "/a").Body.String())
	now.Add(int64(700 * time.Second)) // the entry is stale

	var stuck, rest sync.WaitGroup
	start := func(wg *sync.WaitGroup, i int) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/a", nil)
		wg.Go(func() { h[i].ServeHTTP(w, r) })
		return w
	}
	lw := start(&stuck, a)
	until(t, "A's leader revalidates", func() bool { return runs.Load() == 2 })
	aw := start(&stuck, a)
	until(t, "A's waiter waits for A's leader", func() bool { return joins.Load() == 1 })
	now.Add(int64(time.Second)) // B's entry is made later
	bl := start(&rest, b)
	rest.Wait() // B's leader runs once the lease's time is out, and stores
	require.Equal(t, "run 3", bl.Body.String(), "B's leader ran past the lease")

	close(gate) // A's stuck revalidation ends, last
	stuck.Wait()
	assert.Equal(t, "run 1", lw.Body.String(), "its client gets the entry its 304 validated")
	assert.Equal(t, "run 3", aw.Body.String(), "A's waiter is served B's stored entry")
	assert.EqualValues(t, 3, runs.Load(), "the stuck handler is not run again for A's waiter")
	for i := range h {
		assert.Equal(t, "run 3", get(h[i], "/a").Body.String(), "process %d", i)
	}
}
