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
	"github.com/stretchr/testify/require"
)

// leaseTrio is three Caches ("processes") sharing one remote store, with
// opts' lease.
func leaseTrio(t *testing.T, opts Options) []*Cache {
	t.Helper()
	a, b, s := leasePair(t, opts)
	o := opts
	o.Backend = s
	c, err := New(&o)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return []*Cache{a, b, c}
}

// TestLeaseWaitersTakeTheRunsStaleEntry: the requests of other processes
// that waited for a run under the lease are answered by the entry it
// stored, as the requests that waited for it in its own process are, even
// when that entry is no longer fresh when they read it (StaleIf declared
// it stale; or a TTL that ended before their next look). They used to find
// it stale, add the lease again and run the handler one after another, each
// run's entry as stale for the next: N processes, N runs in turn.
func TestLeaseWaitersTakeTheRunsStaleEntry(t *testing.T) {
	cases := []struct {
		name string
		ttl  time.Duration
		opts []ViewOption
	}{
		{"StaleIf", time.Hour, []ViewOption{StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" })}},
		{"TTL", time.Millisecond, []ViewOption{StaleIfError(time.Hour)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				caches := leaseTrio(t, Options{Lease: time.Minute})
				open := make(chan struct{})
				h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-open
					w.Header().Set("X-Degraded", "1") // a fallback: stale for the next request
				}}
				var views []http.Handler
				for _, c := range caches {
					views = append(views, c.Cached(tc.ttl, append([]ViewOption{CacheStatusHeader("X-Cache")}, tc.opts...)...)(h))
				}
				first := getAll(views[0], "/p", 1)
				synctest.Wait() // the first process's run holds the lease
				b, c := getAll(views[1], "/p", 3), getAll(views[2], "/p", 3)
				synctest.Wait() // the others wait for it
				require.EqualValues(t, 1, h.calls.Load())
				close(open)
				assert.Equal(t, "page #1", first()[0].Body.String())
				for _, w := range append(b(), c()...) {
					assert.Equal(t, "page #1", w.Body.String())
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
				}
				assert.EqualValues(t, 1, h.calls.Load(), "the processes took turns running the handler")

				// A request that comes later finds the entry stale, as
				// before: the handler runs again.
				time.Sleep(time.Second)
				assert.Equal(t, "page #2", get(views[1], "/p").Body.String())
			})
		})
	}
}

// TestLeaseMemoWaitersTakeTheRunsStaleResult is the same for Memoize: a
// result that StaleIf declares stale (or whose TTL ended before the
// waiters' next look) answers the callers of other processes that waited
// for its computation, as it answers those of its own process.
func TestLeaseMemoWaitersTakeTheRunsStaleResult(t *testing.T) {
	cases := []struct {
		name string
		opts []MemoOption
	}{
		{"StaleIf", []MemoOption{TTL(time.Hour), StaleIf(func(v string) bool { return v != "" })}},
		{"TTL", []MemoOption{TTL(time.Millisecond), StaleIfError(time.Hour)}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				caches := leaseTrio(t, Options{Lease: time.Minute})
				open := make(chan struct{})
				var calls atomic.Int32
				fn := func(context.Context, int) (string, error) {
					n := calls.Add(1)
					<-open
					return fmt.Sprintf("call %d", n), nil
				}
				var ms []*Memoized[int, string]
				for _, c := range caches {
					ms = append(ms, Memoize(c, "f", fn, tc.opts...))
				}
				var wg sync.WaitGroup
				got := make([]string, 7)
				start := func(i int, m *Memoized[int, string]) {
					wg.Go(func() {
						v, err := m.Get(t.Context(), 1)
						assert.NoError(t, err)
						got[i] = v
					})
				}
				start(0, ms[0])
				synctest.Wait() // the first process's call holds the lease
				for i := 1; i < 7; i++ {
					start(i, ms[1+i%2])
				}
				synctest.Wait()
				require.EqualValues(t, 1, calls.Load())
				close(open)
				wg.Wait()
				for _, v := range got {
					assert.Equal(t, "call 1", v)
				}
				assert.EqualValues(t, 1, calls.Load(), "the processes took turns calling the function")
			})
		})
	}
}

// TestLeaseSharedStaleByEndRunsAtOnce: in a SharedCache view, a response
// fresh when its header was committed and stale by the end of its body
// (max-age=1, a body that takes 2s) answers none of the requests that
// waited for its run, in its process or another: served unvalidated it
// would be stale. The requests of its own process then each run their own;
// those of the other processes now do too, at once, where they used to take
// the lease and run the handler one process after another.
func TestLeaseSharedStaleByEndRunsAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		caches := leaseTrio(t, Options{Lease: time.Hour})
		open := make(chan struct{})
		both := make(chan struct{})
		var calls, running, most atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := calls.Add(1)
			w.Header().Set("Cache-Control", "public, max-age=1")
			w.Header().Set("ETag", fmt.Sprintf(`"%d"`, n))
			w.WriteHeader(http.StatusOK)
			if n == 1 {
				<-open // the first run's body ends after its max-age
				fmt.Fprintf(w, "run %d", n)
				return
			}
			r := running.Add(1)
			defer running.Add(-1)
			if r > most.Load() {
				most.Store(r)
			}
			if r == 2 {
				close(both)
			}
			// Until the other process's run is in progress too; a run
			// that waits alone ends after a while (it never comes when
			// the processes take turns).
			select {
			case <-both:
			case <-time.After(time.Minute):
			}
			fmt.Fprintf(w, "run %d", n)
		})
		var views []http.Handler
		for _, c := range caches {
			views = append(views, c.Cached(time.Hour, SharedCache())(h))
		}
		first := getAll(views[0], "/p", 1)
		synctest.Wait() // the first run holds the lease, its header sent
		b, c := getAll(views[1], "/p", 1), getAll(views[2], "/p", 1)
		synctest.Wait()
		time.Sleep(2 * time.Second)
		close(open)
		assert.Equal(t, "run 1", first()[0].Body.String())
		assert.Regexp(t, `^run [23]$`, b()[0].Body.String())
		assert.Regexp(t, `^run [23]$`, c()[0].Body.String())
		assert.EqualValues(t, 3, calls.Load(), "a stale response answered a waiter")
		assert.EqualValues(t, 2, most.Load(), "the other processes' runs took turns")
	})
}

// TestLeaseWaiterRefusingStaleRunsItsOwn: with HonorRequestCacheControl, a
// request whose own directives refuse a stale response (no-cache, max-age,
// min-fresh, max-stale=N) is not answered by the entry another process's
// run stored while it waited when that entry is no longer fresh (as
// TestLeaseWaitersTakeTheRunsStaleEntry's are): it runs its own handler,
// while a request without such directives takes the entry.
func TestLeaseWaiterRefusingStaleRunsItsOwn(t *testing.T) {
	for _, cc := range []string{"no-cache", "max-age=60", "min-fresh=1", "max-stale=1"} {
		t.Run(cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				caches := leaseTrio(t, Options{Lease: time.Minute})
				open := make(chan struct{})
				h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
					<-open
					w.Header().Set("X-Degraded", "1")
				}}
				var views []http.Handler
				for _, c := range caches {
					views = append(views, c.Cached(time.Hour, HonorRequestCacheControl(),
						StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" }))(h))
				}
				first := getAll(views[0], "/p", 1)
				synctest.Wait()
				var refusing, plain *httptest.ResponseRecorder
				var wg sync.WaitGroup
				wg.Go(func() { refusing = get(views[1], "/p", "Cache-Control", cc) })
				wg.Go(func() { plain = get(views[2], "/p") })
				synctest.Wait()
				require.EqualValues(t, 1, h.calls.Load())
				close(open)
				wg.Wait()
				assert.Equal(t, "page #1", first()[0].Body.String())
				assert.Equal(t, "page #2", refusing.Body.String(), "a stale entry answered a request that refuses one")
				// The entry of the first run, or that of the refusing
				// request's own run when it stored it first: one run each.
				assert.Regexp(t, `^page #[12]$`, plain.Body.String())
				assert.EqualValues(t, 2, h.calls.Load())
			})
		})
	}
}

// TestLeaseJoinerRefusingStaleRunsItsOwn: the same for a request that
// refuses stale responses and waits, in its process, for a leader that
// takes another process's entry no longer fresh: the leader and the
// requests that accept it are answered with it; the refusing one runs its
// own handler.
func TestLeaseJoinerRefusingStaleRunsItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		caches := leaseTrio(t, Options{Lease: time.Minute})
		open := make(chan struct{})
		h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
			<-open
			w.Header().Set("X-Degraded", "1")
		}}
		var views []http.Handler
		for _, c := range caches[:2] {
			views = append(views, c.Cached(time.Hour, HonorRequestCacheControl(),
				StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" }))(h))
		}
		first := getAll(views[0], "/p", 1)
		synctest.Wait()
		leader := getAll(views[1], "/p", 1)
		synctest.Wait() // b's leader waits for a's lease
		var refusing *httptest.ResponseRecorder
		var wg sync.WaitGroup
		wg.Go(func() { refusing = get(views[1], "/p", "Cache-Control", "max-age=60") })
		synctest.Wait() // it joined b's leader
		require.EqualValues(t, 1, h.calls.Load())
		require.EqualValues(t, 1, caches[1].Stats().LeaseWaits)
		close(open)
		wg.Wait()
		assert.Equal(t, "page #1", first()[0].Body.String())
		assert.Equal(t, "page #1", leader()[0].Body.String())
		assert.Equal(t, "page #2", refusing.Body.String(), "a stale entry answered a request that refuses one")
	})
}
