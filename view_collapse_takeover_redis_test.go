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

// takeoverProcs is two Caches, two processes, on one real Redis under a
// prefix of the test's own, each with a view of /a on one handler: run n
// blocks until gates[n-1] is closed (runs past them answer at once) and
// answers "run n". It records, per process, how many runs were in
// progress at once at most.
type takeoverProcs struct {
	c     [2]*Cache
	h     [2]http.Handler
	runs  atomic.Int32
	gates []chan struct{}
	mu    sync.Mutex
	now   [2]int // runs in progress, by process
	most  [2]int // their most at once
	by    map[int32]int
	joins atomic.Int32 // waiters that joined a flight, in either process
}

func newTakeoverProcs(t *testing.T, gates int, opts [2][]ViewOption) *takeoverProcs {
	t.Helper()
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	p := &takeoverProcs{by: make(map[int32]int)}
	for range gates {
		p.gates = append(p.gates, make(chan struct{}))
	}
	t.Cleanup(func() {
		for _, g := range p.gates {
			select {
			case <-g:
			default:
				close(g) // a failed test's runs end
			}
		}
	})
	hook := func(string) { p.joins.Add(1) }
	waiterJoinedHook.Store(&hook)
	t.Cleanup(func() { waiterJoinedHook.Store(nil) })
	for i := range p.c {
		b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout}) // a lease Add timed out under load is not the subject
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		p.c[i] = c
		p.h[i] = c.Cached(time.Hour, append([]ViewOption{CacheStatusHeader("X-Cache")}, opts[i]...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := p.runs.Add(1)
			p.mu.Lock()
			p.by[n] = i
			p.now[i]++
			p.most[i] = max(p.most[i], p.now[i])
			p.mu.Unlock()
			defer func() {
				p.mu.Lock()
				p.now[i]--
				p.mu.Unlock()
			}()
			w.Header().Set("Cache-Control", "max-age=600")
			if int(n) <= len(p.gates) {
				<-p.gates[n-1]
			}
			_, _ = fmt.Fprintf(w, "run %d", n)
		}))
	}
	return p
}

// start serves a GET of /a in process i on a goroutine of its own.
func (p *takeoverProcs) start(wg *sync.WaitGroup, i int) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	wg.Go(func() { p.h[i].ServeHTTP(w, r) })
	return w
}

// until waits for cond, a state the requests in progress reach on their
// own (a bound, not a timing: failing past it means they never do).
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 20*time.Second, time.Millisecond, what)
}

// leaseHeld reports whether /a's lease is held, as process i reads it.
func (p *takeoverProcs) leaseHeld(t *testing.T, i int) bool {
	t.Helper()
	key, err := p.c[i].ViewKey(httptest.NewRequest(http.MethodGet, "/a", nil))
	require.NoError(t, err)
	held, _, err := p.c[i].readLease(t.Context(), p.c[i].leaseKey(key))
	require.NoError(t, err)
	return held
}

// TestCollapseTakeoverAcrossProcessesOnRedis: under Lease, on a real
// Redis, process A's leader holds the lease and its handler is stuck; a
// request of A that waited CollapseTimeout takes A's flight over, which
// hands the lease on. Process B's leader, waiting for that lease, and
// B's waiter, what a user sees: one new run in all (the taker's, or B's
// leader's if it took the lease first), its response served to every
// request of either process that waited or came since and stored; no
// second run at once in B; the lease released once it stored; the stuck
// run's response, made last, going to its own client only, not stored
// over the new one.
func TestCollapseTakeoverAcrossProcessesOnRedis(t *testing.T) {
	const a, b = 0, 1
	p := newTakeoverProcs(t, 2, [2][]ViewOption{
		{Lease(time.Minute), CollapseTimeout(200 * time.Millisecond)},
		{Lease(time.Minute), CollapseTimeout(time.Hour)}, // B's requests wait
	})
	var stuck, rest sync.WaitGroup
	lw := p.start(&stuck, a)
	until(t, "A's leader runs its handler", func() bool { return p.runs.Load() == 1 })
	require.True(t, p.leaseHeld(t, b), "A's leader holds the lease")

	bl := p.start(&rest, b)
	until(t, "B's leader waits for the lease", func() bool { return p.c[b].Stats().LeaseWaits == 1 })
	bw := p.start(&rest, b)
	until(t, "B's waiter joins B's flight", func() bool { return p.joins.Load() == 1 })

	aw := p.start(&rest, a) // gives up at 200 ms and takes A's flight over
	until(t, "a new run starts", func() bool { return p.runs.Load() == 2 })
	assert.EqualValues(t, 1, p.c[a].Stats().CollapseTakeovers, "A's waiter took the stuck run over")

	joined := p.joins.Load()
	al, bl2 := p.start(&rest, a), p.start(&rest, b) // come since
	until(t, "the later requests wait", func() bool { return p.joins.Load() == joined+2 })
	assert.EqualValues(t, 2, p.runs.Load(), "they run nothing")

	close(p.gates[1]) // the new run ends, and stores
	rest.Wait()
	for name, w := range map[string]*httptest.ResponseRecorder{"A's taker": aw, "A's later": al, "B's leader": bl, "B's waiter": bw, "B's later": bl2} {
		assert.Equal(t, "run 2", w.Body.String(), name)
	}
	p.c[a].background.wait() // the release, made after the responses
	assert.False(t, p.leaseHeld(t, a), "the lease is released once the new run stored")
	for i := range p.h {
		w := get(p.h[i], "/a")
		assert.Equal(t, "run 2", w.Body.String(), "process %d", i)
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "process %d", i)
	}

	close(p.gates[0]) // the stuck run ends, last
	stuck.Wait()
	assert.Equal(t, "run 1", lw.Body.String(), "its client gets its own response")
	for i := range p.h {
		w := get(p.h[i], "/a")
		assert.Equal(t, "run 2", w.Body.String(), "process %d: the stuck run's response replaced nothing", i)
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "process %d", i)
	}
	assert.EqualValues(t, 2, p.runs.Load())
	p.c[a].background.wait()
	assert.False(t, p.leaseHeld(t, a))
	p.mu.Lock()
	defer p.mu.Unlock()
	assert.LessOrEqual(t, p.most[b], 1, "B ran at most one run at once")
	t.Logf("the new run was process %d's; most at once: A %d, B %d", p.by[2], p.most[a], p.most[b])
	assert.Zero(t, p.c[b].Stats().CollapseTimeouts, "no request of B gave up")
}

// TestStuckLeaseHolderAcrossProcessesOnRedis: under Lease, on a real
// Redis, process A's leader holds the lease, its handler stuck past the
// lease's time, with no request of A to take it over. Process B's leader
// waits for the lease, its waiters for it (a waiter that gives up on a
// leader waiting for another process's lease runs on its own, storing
// nothing); once the lease's time is out, B's leader runs and stores. A's
// stuck run, ending last, must not store its older response over B's.
func TestStuckLeaseHolderAcrossProcessesOnRedis(t *testing.T) {
	const a, b = 0, 1
	p := newTakeoverProcs(t, 1, [2][]ViewOption{
		{Lease(time.Second)},
		{Lease(time.Second), CollapseTimeout(200 * time.Millisecond)},
	})
	var stuck, rest sync.WaitGroup
	lw := p.start(&stuck, a)
	until(t, "A's leader runs its handler", func() bool { return p.runs.Load() == 1 })

	bl := p.start(&rest, b)
	until(t, "B's leader waits for the lease", func() bool { return p.c[b].Stats().LeaseWaits == 1 })
	bw := p.start(&rest, b) // gives up at 200 ms: runs on its own
	// B's leader runs once the lease's time is out: at its deadline, or
	// as it finds A's lease expired in Redis a moment before and takes it.
	rest.Wait()
	assert.Equal(t, "run 2", bw.Body.String(), "B's waiter ran on its own")
	assert.Equal(t, "run 3", bl.Body.String(), "B's leader ran past the lease")
	w := get(p.h[b], "/a")
	assert.Equal(t, "run 3", w.Body.String(), "B's leader's response is stored")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))

	close(p.gates[0]) // A's stuck run ends, last
	stuck.Wait()
	assert.Equal(t, "run 1", lw.Body.String(), "its client gets its own response")
	for i := range p.h {
		w := get(p.h[i], "/a")
		assert.Equal(t, "run 3", w.Body.String(), "process %d: A's stuck run's older response is not stored over B's", i)
	}
	assert.EqualValues(t, 3, p.runs.Load())
}
