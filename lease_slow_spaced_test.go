package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// The work of the slow spaced chain: slower than the lease d (1.5 d), asked
// for every 1.2 d, in two processes in turn, 8 times. Each request misses
// while the last run goes on, past that run's lease: it takes the lease
// itself, without waiting for it, and runs. No request waits for another.
// Whatever the timing (a request that comes while the lease is held waits
// for its entry; one after the entry is stored hits), the first run's
// result is stored and answers the later requests.
const (
	spacedLease    = 400 * time.Millisecond
	spacedWork     = spacedLease + spacedLease/2
	spacedInterval = spacedLease + spacedLease/5
	spacedRequests = 8
)

// spacedChain sends spacedRequests GETs of /p, spacedInterval apart, to
// h[0] and h[1] in turn, request i with the header hdr(i).
func spacedChain(h [2]http.Handler, hdr func(i int) []string) []*httptest.ResponseRecorder {
	var wg sync.WaitGroup
	out := make([]*httptest.ResponseRecorder, spacedRequests)
	for i := range out {
		if i > 0 {
			time.Sleep(spacedInterval)
		}
		wg.Go(func() { out[i] = get(h[i%2], "/p", hdr(i)...) })
	}
	wg.Wait()
	return out
}

// slowPage is a page that takes work to make, counted in runs, fresh for
// 10 minutes; its body names its run.
func slowPage(runs *atomic.Int32, work time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := runs.Add(1)
		time.Sleep(work)
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = fmt.Fprintf(w, "run %d", n)
	})
}

// slowSpacedView requests a page whose handler is slower than the lease,
// on a and b (two Caches sharing a backend, with lease spacedLease) in
// turn, and checks that the later requests are hits.
func slowSpacedView(t *testing.T, a, b *Cache) {
	t.Helper()
	var runs atomic.Int32
	handler := slowPage(&runs, spacedWork)
	h := [2]http.Handler{
		a.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler),
		b.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler),
	}
	out := spacedChain(h, func(int) []string { return nil })
	for i, w := range out[3:] {
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "request %d", 3+i)
	}
	assert.LessOrEqual(t, runs.Load(), int32(3), "handler runs for %d requests", spacedRequests)
}

// slowSpacedMemo is slowSpacedView for a memoized function: the later
// calls get the result of a run begun before them.
func slowSpacedMemo(t *testing.T, a, b *Cache) {
	t.Helper()
	var runs atomic.Int32
	fn := func(context.Context, int) (string, error) {
		n := runs.Add(1)
		time.Sleep(spacedWork)
		return fmt.Sprintf("run %d", n), nil
	}
	m := [2]*Memoized[int, string]{Memoize(a, "f", fn), Memoize(b, "f", fn)}
	var wg sync.WaitGroup
	var got [spacedRequests]string
	var before [spacedRequests]int32 // the runs begun before call i
	for i := range got {
		if i > 0 {
			time.Sleep(spacedInterval)
		}
		before[i] = runs.Load()
		wg.Go(func() {
			v, err := m[i%2].Get(context.Background(), 1)
			assert.NoError(t, err)
			got[i] = v
		})
	}
	wg.Wait()
	for i := 3; i < spacedRequests; i++ {
		n, err := strconv.Atoi(strings.TrimPrefix(got[i], "run "))
		assert.NoError(t, err, "call %d got %q", i, got[i])
		assert.LessOrEqual(t, int32(n), before[i], "call %d is a hit: %q", i, got[i])
	}
	assert.LessOrEqual(t, runs.Load(), int32(3), "function runs for %d calls", spacedRequests)
}

// TestViewLeaseSlowHandlerSpacedRequestsIsStored: a page whose handler runs
// longer than its lease, requested at spaced intervals in two processes in
// turn. Each holder ended past its lease while the next request's holder
// held the key's lease, and stood aside: it stored nothing (view.newerSinceLease),
// and so did the next, for as long as requests came: every request ran the
// handler, slower than no cache. A holder past its lease now stores its
// response; the next one's look finds it and keeps it.
func TestViewLeaseSlowHandlerSpacedRequestsIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: spacedLease})
		slowSpacedView(t, a, b)
	})
}

// TestViewLeaseSlowHandlerSpacedRequestsIsStoredOnRedis: as
// TestViewLeaseSlowHandlerSpacedRequestsIsStored, with two Caches on a real
// Redis, as two processes.
func TestViewLeaseSlowHandlerSpacedRequestsIsStoredOnRedis(t *testing.T) {
	a, b := redisLeasePair(t, testutil.RedisAddr(t), spacedLease)
	slowSpacedView(t, a, b)
}

// TestMemoizeLeaseSlowFunctionSpacedCallsIsStored: as
// TestViewLeaseSlowHandlerSpacedRequestsIsStored, for a memoized function
// slower than its lease, called at spaced intervals in two processes in
// turn: each holder stood aside for the next (Memoized.storedSinceLease),
// every call computed. A holder past its lease now stores its result.
func TestMemoizeLeaseSlowFunctionSpacedCallsIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: spacedLease})
		slowSpacedMemo(t, a, b)
	})
}

// TestMemoizeLeaseSlowFunctionSpacedCallsIsStoredOnRedis: as
// TestMemoizeLeaseSlowFunctionSpacedCallsIsStored, with two Caches on a
// real Redis, as two processes.
func TestMemoizeLeaseSlowFunctionSpacedCallsIsStoredOnRedis(t *testing.T) {
	a, b := redisLeasePair(t, testutil.RedisAddr(t), spacedLease)
	slowSpacedMemo(t, a, b)
}
