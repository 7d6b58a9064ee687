package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// takeoverEnv is a view whose handler runs block, each until its own
// channel of gates is closed (runs past them answer at once), and answer
// "run N".
type takeoverEnv struct {
	c     *Cache
	h     http.Handler
	runs  atomic.Int32
	gates []chan struct{}
	// handle, when set, writes the header of run n (before its gate).
	handle func(w http.ResponseWriter, r *http.Request, n int32)
}

func newTakeoverEnv(t *testing.T, k storeKind, gates int, opts ...ViewOption) *takeoverEnv {
	t.Helper()
	c, _ := k.open(t, nil, testutil.NewClock(), Options{})
	t.Cleanup(func() { c.Close() })
	e := &takeoverEnv{c: c}
	for range gates {
		e.gates = append(e.gates, make(chan struct{}))
	}
	e.h = c.Cached(time.Hour, append([]ViewOption{CacheStatusHeader("X-Cache"), CollapseTimeout(50 * time.Millisecond)}, opts...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.runs.Add(1)
		if e.handle != nil {
			e.handle(w, r, n)
		} else {
			w.Header().Set("Cache-Control", "max-age=600")
		}
		if int(n) <= len(e.gates) {
			<-e.gates[n-1]
		}
		_, _ = fmt.Fprintf(w, "run %d", n)
	}))
	return e
}

// start serves a GET of /a with hdr on a goroutine of its own.
func (e *takeoverEnv) start(wg *sync.WaitGroup, hdr ...string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	wg.Go(func() { e.h.ServeHTTP(w, r) })
	return w
}

// startUnderOthersLease has another process hold the lease of /a, then
// starts a leader, which polls it, and a waiter of its flight; it returns
// the lease's key and their recorders.
func (e *takeoverEnv) startUnderOthersLease(t *testing.T, wg *sync.WaitGroup) (lk string, lw, ww *httptest.ResponseRecorder) {
	t.Helper()
	key, err := e.c.ViewKey(httptest.NewRequest(http.MethodGet, "/a", nil))
	require.NoError(t, err)
	lk = e.c.leaseKey(key)
	require.NoError(t, e.c.store.b.Set(t.Context(), lk, leaseHeldValue, time.Hour))
	lw = e.start(wg)
	synctest.Wait() // the leader polls the lease
	return lk, lw, e.start(wg)
}

// stored returns the body stored for /a, or "" when none is.
func (e *takeoverEnv) stored(t *testing.T, opts ...ViewOption) string {
	t.Helper()
	resp, _, err := e.c.Peek(httptest.NewRequest(http.MethodGet, "/a", nil), opts...)
	if err != nil {
		require.ErrorIs(t, err, ErrNotFound)
		return ""
	}
	return string(resp.Body)
}

// TestCollapseTimeoutTakesStuckLeaderOver: the first waiter that gives up
// on a leader whose handler has run CollapseTimeout takes the flight over
// (nginx's proxy_cache_lock_age): its response is stored, and answers the
// requests that joined after it; the stuck leader's response, made later,
// goes to its own client and replaces nothing. Before, the waiter's
// response was not stored, and every request of the key waited
// CollapseTimeout and ran alone for as long as the leader ran: one
// request that never ends turned the cache off for its key.
func TestCollapseTimeoutTakesStuckLeaderOver(t *testing.T) {
	for name, opts := range collapseViews {
		t.Run(name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				synctest.Test(t, func(t *testing.T) {
					e := newTakeoverEnv(t, k, 2, opts...)
					var stuck, taker, later sync.WaitGroup
					lw := e.start(&stuck)
					synctest.Wait() // the leader's handler runs, blocked
					tw := e.start(&taker)
					synctest.Wait()
					require.EqualValues(t, 1, e.runs.Load(), "the waiter waits")

					time.Sleep(60 * time.Millisecond) // fake time: it gives up at 50 ms
					synctest.Wait()
					require.EqualValues(t, 2, e.runs.Load(), "the waiter runs the handler")
					bw := e.start(&later) // joins after the takeover
					synctest.Wait()
					assert.EqualValues(t, 2, e.runs.Load(), "a request that came since waits for the new leader")

					close(e.gates[1]) // the taker's run ends
					taker.Wait()
					later.Wait()
					assert.Equal(t, "run 2", tw.Body.String())
					assert.Equal(t, "MISS", tw.Header().Get("X-Cache"))
					assert.Equal(t, "run 2", bw.Body.String(), "the later request got the new leader's response")
					assert.Equal(t, "HIT", bw.Header().Get("X-Cache"))
					assert.Equal(t, "run 2", e.stored(t, opts...), "the taker's response is stored")

					close(e.gates[0]) // the stuck leader ends, late
					stuck.Wait()
					assert.Equal(t, "run 1", lw.Body.String(), "its client gets its own response")
					assert.Equal(t, "MISS", lw.Header().Get("X-Cache"))
					assert.Equal(t, "run 2", e.stored(t, opts...), "the late response replaced nothing")

					w := get(e.h, "/a")
					assert.Equal(t, "run 2", w.Body.String())
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
					assert.EqualValues(t, 2, e.runs.Load())
					st := e.c.Stats()
					assert.EqualValues(t, 2, st.Misses, "the leader and the taker")
					assert.EqualValues(t, 2, st.Hits)
					assert.EqualValues(t, 1, st.CollapseTimeouts)
					assert.EqualValues(t, 1, st.CollapseTakeovers, "the taker")
				})
			})
		})
	}
}

// TestCollapseTimeoutYoungRunNotTakenOver: a waiter that gives up on a run
// younger than CollapseTimeout (one that took a stuck run over after the
// waiter began to wait) runs the handler on its own, as before, and
// stores nothing: a slow run is taken over once per CollapseTimeout, not
// by each of its waiters in turn.
func TestCollapseTimeoutYoungRunNotTakenOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTakeoverEnv(t, viewStores[0], 2)
		var wg sync.WaitGroup
		e.start(&wg)
		synctest.Wait()
		aw := e.start(&wg)
		time.Sleep(10 * time.Millisecond)
		bw := e.start(&wg)
		synctest.Wait()
		time.Sleep(45 * time.Millisecond) // a takes over at 50 ms; b waits for it
		synctest.Wait()
		require.EqualValues(t, 2, e.runs.Load())
		time.Sleep(10 * time.Millisecond) // b gives up at 60 ms, on a run 10 ms old
		synctest.Wait()
		assert.EqualValues(t, 3, e.runs.Load(), "b ran on its own")
		assert.Empty(t, e.stored(t), "b's response is not stored")
		close(e.gates[1])
		close(e.gates[0])
		wg.Wait()
		assert.Equal(t, "run 2", aw.Body.String())
		assert.Equal(t, "run 3", bw.Body.String())
		assert.Equal(t, "run 2", e.stored(t), "the taker's response")
		st := e.c.Stats()
		assert.EqualValues(t, 2, st.CollapseTimeouts)
		assert.EqualValues(t, 1, st.CollapseTakeovers, "a took over, b ran on its own")
	})
}

// TestCollapseTimeoutGaveUpPassesNoValidators: in a SharedCache view, a
// request that gave up waiting and ran on its own does not mark its key
// for hit-for-pass when its response is refused for what it is (private):
// it stores nothing, and the run it left decides. Before, it did, and for
// two minutes the key's conditional misses passed the client's validators
// to the handler, skipping the flight in progress.
func TestCollapseTimeoutGaveUpPassesNoValidators(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTakeoverEnv(t, viewStores[0], 2, SharedCache())
		var validated atomic.Int32
		e.handle = func(w http.ResponseWriter, r *http.Request, n int32) {
			if r.Header.Get("If-None-Match") != "" {
				validated.Add(1)
			}
			w.Header().Set("ETag", `"v1"`)
			if n == 3 { // the one that runs on its own: one user's page
				w.Header().Set("Cache-Control", "private")
				return
			}
			w.Header().Set("Cache-Control", "max-age=600")
		}
		var wg sync.WaitGroup
		e.start(&wg)
		synctest.Wait()
		e.start(&wg)
		time.Sleep(10 * time.Millisecond)
		bw := e.start(&wg)
		time.Sleep(55 * time.Millisecond) // a takes over at 50 ms; b runs alone at 60 ms
		synctest.Wait()
		require.EqualValues(t, 3, e.runs.Load())
		require.Equal(t, "run 3", bw.Body.String(), "b has its response")
		assert.Zero(t, e.h.(*view).passed.n.Load(), "no key is marked for hit-for-pass")

		cw := e.start(&wg, "If-None-Match", `"v1"`) // a conditional miss
		synctest.Wait()
		assert.EqualValues(t, 3, e.runs.Load(), "it waits for the run in flight")
		close(e.gates[1])
		close(e.gates[0])
		wg.Wait()
		assert.Zero(t, validated.Load(), "no client's validators reached the handler")
		assert.Equal(t, http.StatusNotModified, cw.Code, "answered from the taker's response")
	})
}

// TestCollapseTimeoutNoTakeoverDuringOthersLease: under Lease, a waiter
// that gives up while its leader still waits for another process's lease
// (whose run is the one the lease promises) does not take the flight over:
// it runs on its own and stores nothing, as before, and the leader, once
// the lease's holder is given up on, runs and stores.
func TestCollapseTimeoutNoTakeoverDuringOthersLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTakeoverEnv(t, viewStores[0], 0, Lease(20*time.Second), CollapseTimeout(time.Second))
		var wg sync.WaitGroup
		_, lw, ww := e.startUnderOthersLease(t, &wg)
		time.Sleep(1100 * time.Millisecond) // the waiter gives up at 1 s
		synctest.Wait()
		assert.EqualValues(t, 1, e.runs.Load(), "the waiter ran on its own")
		assert.Equal(t, "run 1", ww.Body.String())
		assert.Empty(t, e.stored(t), "and stored nothing")
		wg.Wait() // the leader runs once the lease's time is out
		assert.Equal(t, "run 2", lw.Body.String())
		assert.Equal(t, "run 2", e.stored(t))
		st := e.c.Stats()
		assert.EqualValues(t, 1, st.CollapseTimeouts)
		assert.Zero(t, st.CollapseTakeovers, "the waiter took nothing over")
	})
}

// TestCollapseTimeoutRangeTakesOver: in a SharedCache view, a waiter with
// a Range that gives up takes the run in flight over, as a plain waiter
// does (and as a Range does without SharedCache): it leads as any, and its
// handler's 200, which ignores the Range, is stored for the others. Told
// to join only, it ran on its own and stored nothing, and the requests
// that came since waited for the slow run.
func TestCollapseTimeoutRangeTakesOver(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTakeoverEnv(t, viewStores[0], 1, SharedCache())
		var wg sync.WaitGroup
		lw := e.start(&wg)
		synctest.Wait()
		rw := e.start(&wg, "Range", "bytes=0-2")
		synctest.Wait()
		time.Sleep(60 * time.Millisecond) // it gives up at 50 ms
		synctest.Wait()
		require.EqualValues(t, 2, e.runs.Load(), "the Range ran")
		assert.Equal(t, "run 2", rw.Body.String())
		assert.Equal(t, "run 2", e.stored(t, SharedCache()), "its run took the key over and stored")
		ow := e.start(&wg) // comes since: the taker's entry answers it
		synctest.Wait()
		assert.Equal(t, "run 2", ow.Body.String())
		close(e.gates[0])
		wg.Wait()
		assert.Equal(t, "run 1", lw.Body.String())
		assert.EqualValues(t, 2, e.runs.Load())
		assert.EqualValues(t, 1, e.c.Stats().CollapseTakeovers)
	})
}

// TestCollapseTimeoutLeaseWaitIsNoAge: under Lease, a leader that waited
// for another process's lease most of CollapseTimeout, then ran its
// handler, is not taken over by a waiter that gives up a moment later: the
// age that allows a takeover is its handler's, not its flight's. Before,
// the time spent waiting for the lease counted: the waiter took over a run
// begun 50 ms earlier, the handler ran twice in parallel, and the leader's
// response was thrown away.
func TestCollapseTimeoutLeaseWaitIsNoAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newTakeoverEnv(t, viewStores[0], 2, Lease(20*time.Second), CollapseTimeout(time.Second))
		var wg sync.WaitGroup
		lk, lw, ww := e.startUnderOthersLease(t, &wg)
		time.Sleep(900 * time.Millisecond)
		// The other process releases it, storing nothing: the leader
		// takes it at its next poll and runs its handler.
		require.NoError(t, e.c.store.b.Delete(t.Context(), lk))
		// Its next poll comes within leaseMaxPoll and its jitter (62.5
		// ms: a sleep of 60 ms missed it now and then).
		time.Sleep(leaseMaxPoll + leaseMaxPoll/4 + time.Millisecond)
		synctest.Wait()
		require.EqualValues(t, 1, e.runs.Load(), "the leader's handler runs")
		time.Sleep(60 * time.Millisecond) // the waiter gives up at 1 s
		synctest.Wait()
		require.EqualValues(t, 2, e.runs.Load(), "the waiter runs the handler")
		cw := e.start(&wg) // joins the flight in progress
		synctest.Wait()
		assert.EqualValues(t, 2, e.runs.Load(), "a request that came since waits")
		close(e.gates[1]) // the waiter's run ends
		synctest.Wait()
		assert.Equal(t, "run 2", ww.Body.String())
		assert.Empty(t, e.stored(t), "the waiter ran on its own: not stored")
		close(e.gates[0])
		wg.Wait()
		assert.Equal(t, "run 1", lw.Body.String())
		assert.Equal(t, "run 1", e.stored(t), "the leader's response is stored")
		assert.Equal(t, "run 1", cw.Body.String(), "the later request got the leader's response")
		assert.EqualValues(t, 2, e.runs.Load())
	})
}
