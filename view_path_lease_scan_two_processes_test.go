package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// remoteLike hides the simple store's in-process methods: the Cache uses it
// as it uses Redis or memcached (versions stored as bytes).
type remoteLike struct{ backend.Backend }

// TestScanAcrossTwoProcessesWithLeaseLeavesNoPathKeys: a scan that
// sends each random path to two processes at once (round-robin behind a
// load balancer), the first request hanging up 1 ms in. The handler is an
// ordinary one: a 404 after 50 ms of work, not watching its context.
// Process 0's run hands its lease on when its client leaves; process 1's
// request, waiting for the lease, takes it and runs the handler. Process
// 0's run ends first: it kept the path key it created while the lease was
// held; process 1's run did not create it, so did not delete it either:
// one path key per random path, for 4x the entries' life (up to 28 days).
// Process 0 now deletes it unless an entry is stored (view.endFlight).
func TestScanAcrossTwoProcessesWithLeaseLeavesNoPathKeys(t *testing.T) {
	for _, remote := range []bool{false, true} {
		t.Run(fmt.Sprint("remote=", remote), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := newSimple(t, nil)
				var be backend.Backend = b
				if remote {
					be = remoteLike{b}
				}
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(50 * time.Millisecond) // a database lookup
					http.NotFound(w, r)
				})
				views := make([]http.Handler, 2)
				caches := make([]*Cache, 2)
				var c *Cache
				for i := range views {
					c = Must(&Options{Backend: be})
					defer c.Close()
					caches[i] = c
					views[i] = c.Cached(time.Hour, Lease(time.Minute))(h)
				}
				const paths = 50
				for i := range paths {
					path := fmt.Sprintf("/scan/%d", i)
					var wg sync.WaitGroup
					ctx, hangUp := context.WithCancel(context.Background())
					wg.Go(func() {
						views[0].ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil).WithContext(ctx))
					})
					synctest.Wait() // process 0 holds the lease, its handler runs
					wg.Go(func() { get(views[1], path) })
					time.Sleep(time.Millisecond)
					hangUp()
					wg.Wait()
				}
				time.Sleep(simple.DefaultSweepInterval + leaseMarkLife)
				synctest.Wait()
				left := 0
				for i := range paths {
					k := c.pathTagKey(fmt.Sprintf("/scan/%d", i))
					_, local := b.LoadValue(k)
					_, err := b.Get(context.Background(), k)
					if local || err == nil {
						left++
					}
				}
				for i, c := range caches {
					if n := c.store.created.n.Load(); n != 0 {
						t.Errorf("process %d: %d created keys still tracked after every run ended", i, n)
					}
				}
				if n := b.Stats().Entries; n > 5 || left > 0 {
					t.Fatalf("%d random paths (404), each sent to two processes, the first hanging up, left %d keys in the store, %d of them path keys", paths, n, left)
				}
			})
		})
	}
}

// TestHandedOnKeyDeletedPastRecheckBound: with maxRechecks decisions
// already waiting for other processes' leases, a run whose client left
// while another process holds the lease it handed on deletes its path
// version key at once rather than start another goroutine: a scan cannot
// make the Cache start goroutines without bound.
func TestHandedOnKeyDeletedPastRecheckBound(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newSimple(t, nil)
		second := make(chan struct{})
		var calls atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if calls.Add(1) == 2 {
				<-second // process 1's run goes on
			}
			time.Sleep(50 * time.Millisecond)
			http.NotFound(w, r)
		})
		views := make([]http.Handler, 2)
		caches := make([]*Cache, 2)
		for i := range views {
			caches[i] = Must(&Options{Backend: b})
			defer caches[i].Close()
			views[i] = caches[i].Cached(time.Hour, Lease(time.Minute))(h)
		}
		caches[0].rechecks.Store(maxRechecks)
		ctx, hangUp := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		wg.Go(func() {
			views[0].ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/scan/x", nil).WithContext(ctx))
		})
		synctest.Wait()
		wg.Go(func() { get(views[1], "/scan/x") })
		time.Sleep(time.Millisecond)
		hangUp()
		for calls.Load() < 2 {
			time.Sleep(time.Millisecond) // process 1 takes the lease
		}
		time.Sleep(100 * time.Millisecond) // process 0's run ends
		synctest.Wait()
		_, kept := b.LoadValue(caches[0].pathTagKey("/scan/x"))
		assert.False(t, kept, "the key is deleted while process 1 still runs")
		assert.EqualValues(t, maxRechecks, caches[0].rechecks.Load(), "no recheck started")
		close(second)
		wg.Wait()
	})
}
