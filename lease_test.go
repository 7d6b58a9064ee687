package caching

import (
	"context"
	"errors"
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

// leasePair is two Caches on one remote store, as two processes sharing a
// backend: each has its own flights, so only the lease can keep them from
// both running the work.
func leasePair(t *testing.T, opts Options) (a, b *Cache, s *remote) {
	t.Helper()
	s = &remote{Backend: newSimple(t, nil)}
	open := func() *Cache {
		o := opts
		o.Backend = s
		c, err := New(&o)
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		return c
	}
	return open(), open(), s
}

// gate is a handler that blocks every run until it is opened.
type gate struct {
	counter
	open chan struct{}
}

func newGate(status int) *gate {
	g := &gate{open: make(chan struct{})}
	g.body = "page"
	g.fn = func(w http.ResponseWriter, r *http.Request) {
		<-g.open
		w.WriteHeader(status)
	}
	return g
}

// getAll sends n concurrent GETs of target to h and returns the responses
// once all are answered, through done.
func getAll(h http.Handler, target string, n int) (done func() []*httptest.ResponseRecorder) {
	out := make([]*httptest.ResponseRecorder, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i] = get(h, target) })
	}
	return func() []*httptest.ResponseRecorder { wg.Wait(); return out }
}

func TestLeaseRunsTheHandlerOnceAcrossCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		h := newGate(http.StatusOK)
		va := a.Cached(time.Hour, CacheStatusHeader("X-Cache"))(h)
		vb := b.Cached(time.Hour, CacheStatusHeader("X-Cache"))(h)

		first := getAll(va, "/p", 1)
		synctest.Wait() // a's handler runs, holding the lease
		others := getAll(vb, "/p", 10)
		synctest.Wait() // b's leader waits for the lease, its followers for it
		require.Equal(t, int64(1), h.calls.Load())
		require.Equal(t, int64(1), b.Stats().LeaseWaits)
		close(h.open)

		assert.Equal(t, "MISS", first()[0].Header().Get("X-Cache"))
		for _, w := range others() {
			assert.Equal(t, "page #1", w.Body.String())
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "served the other Cache's run")
		}
		assert.Equal(t, int64(1), h.calls.Load(), "one run for both Caches")
		sa, sb := a.Stats(), b.Stats()
		assert.Equal(t, int64(1), sa.Leases)
		assert.Equal(t, int64(0), sb.Leases)
		assert.Equal(t, int64(10), sb.Hits)
		assert.Equal(t, int64(0), sb.LeaseTimeouts)
	})
}

// TestLeaseHolderThatNeverStoresDelaysOthersByTheLease is a holder that
// hangs (or crashed): the others run the handler themselves once the lease
// time has passed, and not before.
func TestLeaseHolderThatNeverStoresDelaysOthersByTheLease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const lease = 2 * time.Second
		a, b, _ := leasePair(t, Options{Lease: lease})
		hang := newGate(http.StatusOK)
		quick := &counter{body: "page"}
		va := a.Cached(time.Hour)(hang)
		vb := b.Cached(time.Hour, CacheStatusHeader("X-Cache"))(quick)

		held := getAll(va, "/p", 1)
		synctest.Wait()
		start := time.Now()
		others := getAll(vb, "/p", 5)
		synctest.Wait()
		assert.Equal(t, int64(0), quick.calls.Load(), "b waits")
		ws := others()
		waited := time.Since(start) // the bubble's clock: exact, not measured
		assert.GreaterOrEqual(t, waited, lease, "b ran only when the lease time had passed")
		assert.Less(t, waited, lease+leaseMaxPoll+time.Millisecond)
		assert.Equal(t, int64(1), quick.calls.Load(), "one run in b for its five requests")
		for _, w := range ws {
			assert.Equal(t, "page #1", w.Body.String())
		}
		assert.Equal(t, int64(1), b.Stats().LeaseTimeouts)
		close(hang.open)
		held()
	})
}

// TestLeaseNotStoredReleasesTheWaitersAtOnce: a response that is not stored
// (a 500) marks the lease, and the waiters run the handler at once instead
// of waiting for the lease time.
func TestLeaseNotStoredReleasesTheWaitersAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Hour})
		h := newGate(http.StatusInternalServerError)
		va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)
		first := getAll(va, "/p", 1)
		synctest.Wait()
		others := getAll(vb, "/p", 3)
		synctest.Wait()
		start := time.Now()
		close(h.open)
		first()
		for _, w := range others() {
			assert.Equal(t, http.StatusInternalServerError, w.Code)
		}
		assert.Less(t, time.Since(start), time.Second, "not the lease's hour")
		assert.Equal(t, int64(4), h.calls.Load(), "a's run, then each of b's: a response not stored is not shared")
		assert.Equal(t, int64(0), b.Stats().LeaseTimeouts)
	})
}

func TestLeaseWaiterServesItsStaleEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		h := newGate(http.StatusOK)
		opts := []ViewOption{StaleIfError(time.Hour), CacheStatusHeader("X-Cache")}
		va, vb := a.Cached(time.Second, opts...)(h), b.Cached(time.Second, opts...)(h)
		close(h.open)
		get(va, "/p") // stored: "page #1"
		time.Sleep(2 * time.Second)
		h.open = make(chan struct{})
		refresh := getAll(va, "/p", 1)
		synctest.Wait() // a refreshes it, holding the lease
		w := get(vb, "/p")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, "page #1", w.Body.String())
		close(h.open)
		assert.Equal(t, "page #2", refresh()[0].Body.String())
		assert.Equal(t, int64(2), h.calls.Load())
	})
}

func TestLeaseWaiterHonoursItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Hour})
		h := newGate(http.StatusOK)
		va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)
		held := getAll(va, "/p", 1)
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			vb.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil).WithContext(ctx))
			close(done)
		}()
		synctest.Wait()
		cancel()
		<-done // the waiter left with its client, long before the hour
		assert.Equal(t, int64(1), b.Stats().Misses)
		close(h.open)
		held()
	})
}

// TestLeaseBackendDownRunsTheWork: no lease can be taken from a dead
// backend (nor past an open breaker): every request runs the handler, as
// without a cache.
func TestLeaseBackendDownRunsTheWork(t *testing.T) {
	a, b, s := leasePair(t, Options{Lease: time.Hour})
	h := &counter{body: "page"}
	va, vb := a.Cached(time.Hour)(h), b.Cached(time.Hour)(h)
	s.fail.Store(true)
	for range 8 {
		assert.Equal(t, http.StatusOK, get(va, "/p").Code)
		assert.Equal(t, http.StatusOK, get(vb, "/p").Code)
	}
	assert.Equal(t, int64(16), h.calls.Load())
	assert.Equal(t, "open", a.Stats().Breaker)
	assert.Zero(t, a.Stats().Leases+b.Stats().LeaseWaits)
}

func TestLeaseMemoizeRunsTheFunctionOnceAcrossCaches(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Minute})
		var calls atomic.Int64
		open := make(chan struct{})
		fn := func(ctx context.Context, n int) (int, error) {
			calls.Add(1)
			<-open
			return n * 2, nil
		}
		ma, mb := Memoize(a, "double", fn), Memoize(b, "double", fn)
		var got [3]int
		var wg sync.WaitGroup
		wg.Go(func() { got[0], _ = ma.Get(context.Background(), 21) })
		synctest.Wait()
		for i := 1; i < 3; i++ {
			wg.Go(func() { got[i], _ = mb.Get(context.Background(), 21) })
		}
		synctest.Wait()
		close(open)
		wg.Wait()
		assert.Equal(t, [3]int{42, 42, 42}, got)
		assert.Equal(t, int64(1), calls.Load())
		assert.Equal(t, Counts{Hits: 2}, b.MemoStats()["double"], "b's calls did not run the function")
		assert.Equal(t, int64(1), b.Stats().LeaseWaits)
	})
}

func TestLeaseOptionValidated(t *testing.T) {
	_, err := New(&Options{Lease: -time.Second})
	require.ErrorIs(t, err, ErrInvalidOption)
	c := Must(nil)
	assert.Panics(t, func() { c.Cached(time.Minute, Lease(-1)) })
	_, err = newMemoized(c, "f", func(context.Context, int) (int, error) { return 0, nil }, 0, []MemoOption{Lease(-1)})
	require.ErrorIs(t, err, ErrInvalidOption)
	// Lease(0) turns the Cache's default off for one view.
	d := Must(&Options{Lease: time.Second})
	assert.Zero(t, d.newView(0, mustConfig(t, Lease(0)), viewFuncs{}, nil).lease)
	assert.Equal(t, time.Second, d.newView(0, mustConfig(t), viewFuncs{}, nil).lease)
}

func mustConfig(t *testing.T, opts ...ViewOption) viewConfig {
	cfg, _, err := newViewConfig(opts, false)
	require.NoError(t, err)
	return cfg
}

func TestLeaseKeyIsItsOwnKind(t *testing.T) {
	c := Must(&Options{KeyPrefix: "app:"})
	v := c.newView(0, mustConfig(t), viewFuncs{}, nil)
	key := v.viewKey(httptest.NewRequest(http.MethodGet, "/p", nil), "", false)
	assert.Equal(t, "app:l/v/http://example.com#view//p", c.leaseKey(key))
}

// observed records what an Observer is told.
type observed struct {
	mu  sync.Mutex
	ops map[string]int
	err int
}

func (o *observed) ObserveBackend(op string, d time.Duration, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.ops == nil {
		o.ops = map[string]int{}
	}
	o.ops[op]++
	if err != nil && !errors.Is(err, ErrNotFound) {
		o.err++
	}
}

func TestViewAndMemoStatsByName(t *testing.T) {
	obs := &observed{}
	s := &remote{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: s, Observer: obs})
	t.Cleanup(func() { c.Close() })
	mux := http.NewServeMux()
	mux.Handle("GET /a/{id}", &counter{body: "a"})
	mux.Handle("GET /b", &counter{body: "b"})
	cm := c.CachedMux(mux, time.Hour)
	named := c.Cached(time.Hour, Name("products"))(&counter{body: "p"})
	outer := http.NewServeMux()
	outer.Handle("GET /c", c.Cached(time.Hour)(&counter{body: "c"}))

	get(cm, "/a/1")
	get(cm, "/a/1")
	get(cm, "/a/2")
	get(cm, "/b")
	get(cm, "/b", "Authorization", "Bearer x") // not cached: a bypass
	get(named, "/x")
	get(outer, "/c")
	get(outer, "/c")
	m := Memoize(c, "sq", func(_ context.Context, n int) (int, error) { return n * n, nil })
	_, _ = m.Get(context.Background(), 3)
	_, _ = m.Get(context.Background(), 3)

	assert.Equal(t, map[string]Counts{
		"GET /a/{id}": {Hits: 1, Misses: 2},
		"GET /b":      {Misses: 1, Bypasses: 1},
		"products":    {Misses: 1},
		"GET /c":      {Hits: 1, Misses: 1},
	}, c.ViewStats())
	assert.Equal(t, map[string]Counts{"sq": {Hits: 1, Misses: 1}}, c.MemoStats())
	st := c.Stats()
	assert.Equal(t, int64(3), st.Hits, "the totals sum every view and function")
	assert.Equal(t, int64(6), st.Misses)
	assert.Equal(t, int64(1), st.Bypasses)

	obs.mu.Lock()
	assert.Positive(t, obs.ops[OpGetMany], "lookups")
	assert.Positive(t, obs.ops[OpSet], "stores")
	assert.Positive(t, obs.ops[OpAdd], "tag versions created")
	obs.mu.Unlock()

	// Errors and corrupt entries count for the view that met them.
	key := c.newView(0, mustConfig(t, Name("products")), viewFuncs{}, nil).viewKey(httptest.NewRequest(http.MethodGet, "/x", nil), "", false)
	require.NoError(t, s.Backend.Set(context.Background(), key, []byte("garbage"), 0))
	get(named, "/x")
	s.fail.Store(true)
	get(named, "/x")
	got := c.ViewStats()["products"]
	assert.Equal(t, int64(1), got.Corrupt)
	assert.Positive(t, got.Errors)
	obs.mu.Lock()
	assert.Positive(t, obs.err, "failed calls are observed with their error")
	obs.mu.Unlock()
}

// BenchmarkNamedCounter is the hit path's count: one striped add, against
// the Cache-wide atomic it replaced.
func BenchmarkNamedCounter(b *testing.B) {
	b.Run("striped", func(b *testing.B) {
		var n namedCounter
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.record(outHit)
			}
		})
	})
	b.Run("single", func(b *testing.B) {
		var n atomic.Int64
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				n.Add(1)
			}
		})
	})
}

// The lease's lookup applies SharedCache's Authorization rule as every
// other lookup does: a request with credentials that finds a stored
// response not shareable with it runs the handler, lease or not.
func TestLeaseKeepsSharedCacheAuthorizationRule(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "x", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			if r.Header.Get("Authorization") != "" {
				w.Header().Set("X-User", "alice")
			}
		}}
		ch := e.sharedView(h, Lease(5*time.Second))
		get(ch, "/a") // anonymous: stored, not shareable with Authorization
		w := get(ch, "/a", "Authorization", "Bearer alice")
		assert.EqualValues(t, 2, h.calls.Load(), "the handler must run for alice; X-Cache=%s", w.Header().Get("X-Cache"))
		assert.Equal(t, "alice", w.Header().Get("X-User"), "alice got the anonymous response")
	})
}
