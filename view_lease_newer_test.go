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

	"github.com/go-caching/caching/internal/testutil"
)

// viewLeaseProcs are two views of one page, on two Caches that share a
// backend (two processes), whose handler answers "run N" and whose first
// gates[0], second gates[1] runs (as many as gates) wait for their gate. A
// request with X-Refresh: 1 refreshes the page (RefreshIf).
type viewLeaseProcs struct {
	h     [2]http.Handler
	runs  atomic.Int32
	gates []chan struct{}
}

func newViewLeaseProcs(t *testing.T, a, b *Cache, gates int, opts ...ViewOption) *viewLeaseProcs {
	t.Helper()
	p := &viewLeaseProcs{}
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
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.runs.Add(1)
		if int(n) <= len(p.gates) {
			<-p.gates[n-1]
		}
		w.Header().Set("Cache-Control", "public, max-age=600")
		_, _ = fmt.Fprintf(w, "run %d", n)
	})
	opts = append([]ViewOption{CacheStatusHeader("X-Cache"),
		RefreshIf(func(_ context.Context, r *http.Request) bool { return r.Header.Get("X-Refresh") == "1" })}, opts...)
	for i, c := range []*Cache{a, b} {
		p.h[i] = c.Cached(time.Hour, opts...)(handler)
	}
	return p
}

// start serves a GET of /p in process i on a goroutine of its own.
func (p *viewLeaseProcs) start(wg *sync.WaitGroup, i int) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/p", nil)
	wg.Go(func() { p.h[i].ServeHTTP(w, r) })
	return w
}

// served is what each process serves for /p.
func (p *viewLeaseProcs) served() [2]string {
	var out [2]string
	for i := range p.h {
		out[i] = get(p.h[i], "/p").Body.String()
	}
	return out
}

// viewNewerWrites are the writes of another process that a view's lease
// holder must not replace: a RefreshIf request's, and Warm's, neither of
// which takes the lease.
var viewNewerWrites = []struct {
	name  string
	write func(t *testing.T, c *Cache, h http.Handler)
}{
	{"RefreshIf", func(t *testing.T, _ *Cache, h http.Handler) {
		w := get(h, "/p", "X-Refresh", "1")
		require.Equal(t, "run 2", w.Body.String())
	}},
	{"Warm", func(t *testing.T, c *Cache, h http.Handler) {
		rep := c.Warm(context.Background(), h, WarmTarget{URL: "http://example.com/p"})
		require.Empty(t, rep.Failed)
	}},
}

// newerViewWhileLeased runs process A's lease holder for /p, its handler
// gated, while process B writes /p's entry (write, on B's Cache and view);
// A's run then ends, within its lease. It returns what A's client got and
// what each process serves then.
func newerViewWhileLeased(t *testing.T, p *viewLeaseProcs, b *Cache, write func(*testing.T, *Cache, http.Handler)) (lead string, after [2]string) {
	t.Helper()
	var held sync.WaitGroup
	lw := p.start(&held, 0)
	until(t, "A's holder runs its handler", func() bool { return p.runs.Load() == 1 })
	write(t, b, p.h[1])
	close(p.gates[0]) // A's run ends, last, within its lease
	held.Wait()
	return lw.Body.String(), p.served()
}

// TestViewLeaseHolderKeepsNewerEntry: a view's lease holder whose handler
// ends within its lease, while another process's RefreshIf request or Warm
// (which take no lease) stored a newer response, serves its own response
// to its client but stores nothing over that entry. Before, it stored its
// older response over it, and every process served that older page for
// its TTL.
func TestViewLeaseHolderKeepsNewerEntry(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, tc := range viewNewerWrites {
			t.Run(fmt.Sprintf("%s/shared=%v", tc.name, shared), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					a, b, _ := leasePair(t, Options{Lease: time.Hour})
					var opts []ViewOption
					if shared {
						opts = append(opts, SharedCache())
					}
					p := newViewLeaseProcs(t, a, b, 1, opts...)
					lead, after := newerViewWhileLeased(t, p, b, tc.write)
					assert.Equal(t, "run 1", lead, "A's client gets its own response")
					assert.Equal(t, [2]string{"run 2", "run 2"}, after, "what processes A and B serve")
					assert.EqualValues(t, 2, p.runs.Load())
				})
			})
		}
	}
}

// TestViewLeaseHolderKeepsNewerEntryOnRedis: as
// TestViewLeaseHolderKeepsNewerEntry, with two Caches on a real Redis, as
// two processes.
func TestViewLeaseHolderKeepsNewerEntryOnRedis(t *testing.T) {
	addr := testutil.RedisAddr(t)
	for _, tc := range viewNewerWrites {
		t.Run(tc.name, func(t *testing.T) {
			a, b := redisLeasePair(t, addr, time.Minute)
			p := newViewLeaseProcs(t, a, b, 1)
			lead, after := newerViewWhileLeased(t, p, b, tc.write)
			assert.Equal(t, "run 1", lead, "A's client gets its own response")
			assert.Equal(t, [2]string{"run 2", "run 2"}, after, "A's older response is not stored over B's")
			assert.EqualValues(t, 2, p.runs.Load())
		})
	}
}

// TestViewLeaseHolderStoresWithNothingNewer: a view's lease holder that
// finds nothing stored since its look stores its response (the look before
// its write is no refusal of its own entry), and a hit then makes no run.
func TestViewLeaseHolderStoresWithNothingNewer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Hour})
		p := newViewLeaseProcs(t, a, b, 0)
		assert.Equal(t, "run 1", get(p.h[0], "/p").Body.String())
		assert.Equal(t, [2]string{"run 1", "run 1"}, p.served())
		w := get(p.h[1], "/p")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 1, p.runs.Load())
	})
}

// earlierViewLeaseOverrun runs process A's lease holder for /p past its
// lease d while process B's request, come d/2 later, waited it out and
// runs under the next lease; A's run ends first, then B's. It returns what
// A's and B's clients got and what each process serves then.
func earlierViewLeaseOverrun(t *testing.T, p *viewLeaseProcs, d time.Duration) (got, after [2]string) {
	t.Helper()
	var aDone, bDone sync.WaitGroup
	aw := p.start(&aDone, 0)
	until(t, "A's holder runs", func() bool { return p.runs.Load() == 1 })
	time.Sleep(d / 2) // B's miss comes later, within A's lease
	bw := p.start(&bDone, 1)
	until(t, "B's holder runs, past A's lease", func() bool { return p.runs.Load() == 2 })
	close(p.gates[0]) // A's run, past its lease, ends first
	aDone.Wait()
	close(p.gates[1]) // B's, within its own, last
	bDone.Wait()
	return [2]string{aw.Body.String(), bw.Body.String()}, p.served()
}

// TestViewLeaseOverrunStoresAndNextHolderKeepsIt: process A's lease holder
// overruns its lease; process B's request waits it out, takes the next
// lease and runs the handler. A's run ends first, while B's still runs: A,
// past its lease, stores its response although B holds the key's lease
// (standing aside, a handler slower than its lease under spaced requests
// was never stored); B's look finds that entry and keeps it, B's newer
// response going to B's client only. The page is a run older than B's:
// the trade-off the lease accepts.
func TestViewLeaseOverrunStoresAndNextHolderKeepsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, _ := leasePair(t, Options{Lease: time.Second})
		p := newViewLeaseProcs(t, a, b, 2)
		got, after := earlierViewLeaseOverrun(t, p, time.Second)
		assert.Equal(t, [2]string{"run 1", "run 2"}, got, "each client gets its own run's response")
		assert.Equal(t, [2]string{"run 1", "run 1"}, after, "what processes A and B serve")
		assert.EqualValues(t, 2, p.runs.Load())
	})
}

// TestViewLeaseOverrunStoresAndNextHolderKeepsItOnRedis: as
// TestViewLeaseOverrunStoresAndNextHolderKeepsIt, with two Caches on a
// real Redis, as two processes.
func TestViewLeaseOverrunStoresAndNextHolderKeepsItOnRedis(t *testing.T) {
	const d = time.Second
	a, b := redisLeasePair(t, testutil.RedisAddr(t), d)
	p := newViewLeaseProcs(t, a, b, 2)
	got, after := earlierViewLeaseOverrun(t, p, d)
	assert.Equal(t, [2]string{"run 1", "run 2"}, got, "each client gets its own run's response")
	assert.Equal(t, [2]string{"run 1", "run 1"}, after, "what processes A and B serve")
	assert.EqualValues(t, 2, p.runs.Load())
}

// TestViewLeaseHitMakesNoLook: the look a lease holder makes before its
// write is the miss's alone: a hit under a lease costs the backend the
// calls it costs without one, and a leased miss that stores one lookup
// more than its lease's own calls.
func TestViewLeaseHitMakesNoLook(t *testing.T) {
	trips := func(t *testing.T, lease time.Duration) (miss, hit int64) {
		s := &remote{Backend: newSimple(t, nil)}
		c, err := New(&Options{Backend: s, Lease: lease})
		require.NoError(t, err)
		t.Cleanup(func() { c.Close() })
		h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(&counter{body: "page"})
		before := s.trips.Load()
		require.Equal(t, "MISS", get(h, "/p").Header().Get("X-Cache"))
		c.background.wait() // the lease's release, made after the response
		miss = s.trips.Load() - before
		before = s.trips.Load()
		require.Equal(t, "HIT", get(h, "/p").Header().Get("X-Cache"))
		return miss, s.trips.Load() - before
	}
	plainMiss, plainHit := trips(t, 0)
	leasedMiss, leasedHit := trips(t, time.Hour)
	assert.Equal(t, plainHit, leasedHit, "a hit's backend calls")
	// The lease's Add and its release, and the look before the write.
	assert.Equal(t, plainMiss+3, leasedMiss, "a leased miss's backend calls")
}
