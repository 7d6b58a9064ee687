package caching

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// lateLeaseAnswer hides the simple store's in-process methods, as remote
// does: the Caches on it share it as processes share Redis. With hold set,
// its next Add of a lease key is made at once, but its answer comes back
// only once released is closed (a slow reply), after entered is closed.
type lateLeaseAnswer struct {
	backend.Backend
	hold     atomic.Bool
	entered  chan struct{}
	released chan struct{}
}

func newLateLeaseAnswer(b backend.Backend) *lateLeaseAnswer {
	return &lateLeaseAnswer{Backend: b, entered: make(chan struct{}), released: make(chan struct{})}
}

func (r *lateLeaseAnswer) Add(ctx context.Context, key string, v []byte, ttl time.Duration) (bool, error) {
	added, err := r.Backend.Add(ctx, key, v, ttl)
	if strings.HasPrefix(key, "l/") && r.hold.CompareAndSwap(true, false) {
		close(r.entered)
		<-r.released
	}
	return added, err
}

// TestLeaseRunEndingBeforeTheWaitAnswersTheWaiter: process B's miss finds
// the lease held by A's run, whose whole end (its entry stored, stale on
// arrival as StaleIf declares it, and the lease released) falls within the
// reply to B's Add. B used to take that entry, read after its failed Add,
// as what it had seen before its wait: found again once the lease was
// gone, it did not count as the entry of the run B waited for, and B took
// the lease and ran the handler a second time. The entry B's miss found
// (none) is now what B tells a new entry by: it takes A's.
func TestLeaseRunEndingBeforeTheWaitAnswersTheWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSimple(t, nil)
		bB := newLateLeaseAnswer(store)
		open := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			<-open
			w.Header().Set("X-Degraded", "1") // stale on arrival
		}}
		var views []http.Handler
		for _, b := range []backend.Backend{&remote{Backend: store}, bB} {
			c := Must(&Options{Backend: b, Lease: time.Minute})
			t.Cleanup(func() { c.Close() })
			views = append(views, c.Cached(time.Hour, CacheStatusHeader("X-Cache"),
				StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" }))(h))
		}
		first := getAll(views[0], "/p", 1)
		synctest.Wait() // A's run holds the lease
		bB.hold.Store(true)
		second := getAll(views[1], "/p", 1)
		<-bB.entered // B's Add failed; its answer is on its way
		close(open)
		assert.Equal(t, "page #1", first()[0].Body.String())
		close(bB.released)
		w := second()[0]
		assert.Equal(t, "page #1", w.Body.String())
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 1, h.calls.Load(), "B ran the handler again")
	})
}

// TestLeaseMemoRunEndingBeforeTheWaitAnswersTheWaiter is the same for
// Memoize: a result StaleIf declares stale, stored by the computation
// whose lease B's Add found held, answers B.
func TestLeaseMemoRunEndingBeforeTheWaitAnswersTheWaiter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newSimple(t, nil)
		bB := newLateLeaseAnswer(store)
		open := make(chan struct{})
		var calls atomic.Int32
		fn := func(context.Context, int) (string, error) {
			calls.Add(1)
			<-open
			return "degraded", nil
		}
		var ms []*Memoized[int, string]
		for _, b := range []backend.Backend{&remote{Backend: store}, bB} {
			c := Must(&Options{Backend: b, Lease: time.Minute})
			t.Cleanup(func() { c.Close() })
			ms = append(ms, Memoize(c, "f", fn, TTL(time.Hour), StaleIf(func(v string) bool { return v == "degraded" })))
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			v, err := ms[0].Get(t.Context(), 1)
			assert.NoError(t, err)
			assert.Equal(t, "degraded", v)
		}()
		synctest.Wait() // A's computation holds the lease
		bB.hold.Store(true)
		got := make(chan string, 1)
		go func() {
			v, err := ms[1].Get(t.Context(), 1)
			assert.NoError(t, err)
			got <- v
		}()
		<-bB.entered
		close(open)
		<-done
		close(bB.released)
		assert.Equal(t, "degraded", <-got)
		require.EqualValues(t, 1, calls.Load(), "B called the function again")
	})
}
