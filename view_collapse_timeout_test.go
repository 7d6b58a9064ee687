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

	"github.com/go-caching/caching/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// collapseEnv is a view whose first handler runs (blocking of them) block
// until release is closed (a leader made slow by something of its own),
// while the later runs answer at once, each with its own body.
type collapseEnv struct {
	c        *Cache
	clock    *testutil.Clock // the Cache's (and its store's) clock
	h        http.Handler
	runs     atomic.Int32 // handler runs
	served   atomic.Int32 // requests start served to the end
	blocking int32
	release  chan struct{}
}

func newCollapseEnv(t *testing.T, k storeKind, opts ...ViewOption) *collapseEnv {
	t.Helper()
	clock := testutil.NewClock()
	c, _ := k.open(t, nil, clock, Options{})
	t.Cleanup(func() { c.Close() })
	e := &collapseEnv{c: c, clock: clock, blocking: 1, release: make(chan struct{})}
	e.h = c.Cached(time.Hour, append([]ViewOption{CacheStatusHeader("X-Cache")}, opts...)...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := e.runs.Add(1)
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		if n <= e.blocking {
			<-e.release
			_, _ = w.Write([]byte("leader " + r.Header.Get("Accept-Language")))
			return
		}
		_, _ = w.Write([]byte("waiter " + r.Header.Get("Accept-Language")))
	}))
	return e
}

// start serves a GET of /a with hdr on a goroutine of its own.
func (e *collapseEnv) start(wg *sync.WaitGroup, hdr ...string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	wg.Go(func() {
		e.h.ServeHTTP(w, r)
		e.served.Add(1)
	})
	return w
}

// peek reports whether a response is stored for /a with hdr.
func (e *collapseEnv) peek(t *testing.T, hdr ...string) (string, bool) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	resp, _, err := e.c.Peek(r)
	if errors.Is(err, ErrNotFound) {
		return "", false
	}
	require.NoError(t, err)
	return string(resp.Body), true
}

// collapseViews are the view kinds whose misses share a flight.
var collapseViews = map[string][]ViewOption{
	"private": nil,
	"shared":  {SharedCache()},
}

// TestCollapseTimeoutOtherVariant: waiters of two variants that give up
// on a cold page's leader (its Vary not yet known) each get the response
// of their own variant, never the leader's: the first takes the run over,
// and the other, of another variant, leads its variant's run; both are
// stored, and the leader's late response is not.
func TestCollapseTimeoutOtherVariant(t *testing.T) {
	for name, opts := range collapseViews {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newCollapseEnv(t, viewStores[0], append([]ViewOption{CollapseTimeout(50 * time.Millisecond)}, opts...)...)
				var leader, waiters sync.WaitGroup
				lw := e.start(&leader, "Accept-Language", "en")
				synctest.Wait()
				en := e.start(&waiters, "Accept-Language", "en")
				time.Sleep(10 * time.Millisecond)
				fr := e.start(&waiters, "Accept-Language", "fr")
				synctest.Wait()
				require.EqualValues(t, 1, e.runs.Load(), "both wait on the base key's run")

				time.Sleep(55 * time.Millisecond) // fake time: en gives up at 50 ms and takes over
				synctest.Wait()
				assert.EqualValues(t, 3, e.runs.Load(), "each waiter ran the handler")
				assert.EqualValues(t, 2, e.served.Load(), "each waiter has its response")
				close(e.release)
				waiters.Wait()
				leader.Wait()
				assert.Equal(t, "waiter fr", fr.Body.String())
				assert.Equal(t, "waiter en", en.Body.String())
				assert.Equal(t, "leader en", lw.Body.String())

				body, _ := e.peek(t, "Accept-Language", "fr")
				assert.Equal(t, "waiter fr", body)
				body, _ = e.peek(t, "Accept-Language", "en")
				assert.Equal(t, "waiter en", body, "the taker's, not the leader's late one")
				w := get(e.h, "/a", "Accept-Language", "fr")
				assert.Equal(t, "waiter fr", w.Body.String())
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			})
		})
	}
}

// TestCollapseTimeoutNegativeWaits: with a negative CollapseTimeout a
// waiter waits as long as the leader's run takes, and gets its response.
func TestCollapseTimeoutNegativeWaits(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newCollapseEnv(t, viewStores[0], CollapseTimeout(-1))
		var leader, waiters sync.WaitGroup
		e.start(&leader, "Accept-Language", "en")
		synctest.Wait()
		ww := e.start(&waiters, "Accept-Language", "en")
		time.Sleep(time.Hour) // fake time: far past any default
		synctest.Wait()
		assert.EqualValues(t, 1, e.runs.Load(), "still waiting")
		close(e.release)
		waiters.Wait()
		leader.Wait()
		assert.Equal(t, "leader en", ww.Body.String())
		assert.Equal(t, "HIT", ww.Header().Get("X-Cache"))
		assert.EqualValues(t, 1, e.runs.Load())
	})
}

// TestCollapseTimeoutDefault: without CollapseTimeout a waiter waits
// DefaultCollapseTimeout (5 s), then runs the handler itself.
func TestCollapseTimeoutDefault(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newCollapseEnv(t, viewStores[0])
		var leader, waiters sync.WaitGroup
		e.start(&leader, "Accept-Language", "en")
		synctest.Wait()
		ww := e.start(&waiters, "Accept-Language", "en")
		time.Sleep(DefaultCollapseTimeout - time.Millisecond) // fake time
		synctest.Wait()
		assert.EqualValues(t, 1, e.runs.Load(), "waiting, just before the default")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 2, e.runs.Load(), "gave up at the default")
		assert.EqualValues(t, 1, e.served.Load(), "the waiter has its response")
		close(e.release)
		waiters.Wait()
		leader.Wait()
		assert.Equal(t, "waiter en", ww.Body.String())
		assert.Equal(t, "MISS", ww.Header().Get("X-Cache"))
	})
}

// TestCollapseTimeoutSpansRejoins: the bound counts from a request's
// first wait. A waiter whose leader's client leaves waits for the new
// leader (another waiter) for what is left of it, not for a new one.
func TestCollapseTimeoutSpansRejoins(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newCollapseEnv(t, viewStores[0], CollapseTimeout(time.Second))
		e.blocking = 2 // the new leader's run blocks too
		var leader, waiters sync.WaitGroup
		lr := httptest.NewRequest(http.MethodGet, "/a", nil)
		ctx, cancel := context.WithCancel(lr.Context())
		leader.Go(func() { e.h.ServeHTTP(httptest.NewRecorder(), lr.WithContext(ctx)) })
		synctest.Wait()
		a := e.start(&waiters)
		b := e.start(&waiters)
		synctest.Wait()
		time.Sleep(600 * time.Millisecond)
		cancel() // the leader's client leaves: one of the waiters leads
		synctest.Wait()
		require.EqualValues(t, 2, e.runs.Load(), "a waiter leads")
		time.Sleep(300 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 2, e.runs.Load(), "the other still waits, 900 ms in")
		time.Sleep(200 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 3, e.runs.Load(), "gave up 1 s after its first wait, not after its second")
		close(e.release)
		waiters.Wait()
		leader.Wait()
		assert.ElementsMatch(t, []string{"leader ", "waiter "}, []string{a.Body.String(), b.Body.String()})
	})
}

// TestCollapseTimeoutSharedRevalidation: in a SharedCache view, a request
// that gives up waiting for another's revalidation of a stale entry takes
// it over: it revalidates, and its 304 freshens the stored entry; the
// revalidation it gave up on, answered later with a new representation,
// answers its own client and stores nothing over it.
func TestCollapseTimeoutSharedRevalidation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		release := make(chan struct{})
		var conditional atomic.Int32
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"), CollapseTimeout(50*time.Millisecond))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"v1"`)
			if r.Header.Get("If-None-Match") == `"v1"` {
				if conditional.Add(1) == 1 {
					<-release
					w.Header().Set("Cache-Control", "max-age=600")
					w.Header().Set("ETag", `"v2"`)
					_, _ = w.Write([]byte("late"))
					return
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write([]byte("hello"))
		}))
		require.Equal(t, "hello", get(h, "/a").Body.String())
		time.Sleep(2 * time.Second) // stale: to revalidate

		var leader, waiter sync.WaitGroup
		var lw, w *httptest.ResponseRecorder
		leader.Go(func() { lw = get(h, "/a") })
		synctest.Wait()
		waiter.Go(func() { w = get(h, "/a") })
		synctest.Wait()
		require.EqualValues(t, 1, conditional.Load(), "the waiter waits")
		time.Sleep(60 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 2, conditional.Load(), "the waiter revalidated")
		waiter.Wait()
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "hello", w.Body.String())
		peek := func() (string, bool) {
			resp, fresh, err := c.Peek(httptest.NewRequest(http.MethodGet, "/a", nil), SharedCache())
			require.NoError(t, err)
			return string(resp.Body), fresh
		}
		body, fresh := peek()
		assert.True(t, fresh, "the waiter's 304 freshened the entry")
		assert.Equal(t, "hello", body)
		close(release)
		leader.Wait()
		assert.Equal(t, "late", lw.Body.String(), "the leader's client gets its response")
		body, _ = peek()
		assert.Equal(t, "hello", body, "the leader's late response stored nothing")
	})
}

// TestCollapseTimeoutFollowsTheLease: under Lease, a view without
// CollapseTimeout waits in its process as long as its leader may wait for
// the lease (20 s here), and DefaultCollapseTimeout more for the leader's
// own run: its requests must not each run the handler after 5 s where the
// lease promises one run per key. A CollapseTimeout given is kept.
func TestCollapseTimeoutFollowsTheLease(t *testing.T) {
	for _, tc := range []struct {
		name  string
		opts  []ViewOption
		bound time.Duration
	}{
		{"default", []ViewOption{Lease(20 * time.Second)}, 20*time.Second + DefaultCollapseTimeout},
		{"given", []ViewOption{Lease(20 * time.Second), CollapseTimeout(2 * time.Second)}, 2 * time.Second},
		{"short lease", []ViewOption{Lease(time.Second)}, time.Second + DefaultCollapseTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newCollapseEnv(t, viewStores[0], tc.opts...)
				var leader, waiters sync.WaitGroup
				e.start(&leader)
				synctest.Wait()
				ww := e.start(&waiters)
				time.Sleep(tc.bound - time.Millisecond) // fake time
				synctest.Wait()
				assert.EqualValues(t, 1, e.runs.Load(), "waiting, just before %v", tc.bound)
				// The store's clock: the leader's lease has ended there too
				// when it is past, and the waiter that takes the run over
				// takes the lease.
				e.clock.Advance(tc.bound)
				time.Sleep(time.Millisecond)
				synctest.Wait()
				assert.EqualValues(t, 2, e.runs.Load(), "gave up at %v", tc.bound)
				close(e.release)
				waiters.Wait()
				leader.Wait()
				assert.Equal(t, "waiter ", ww.Body.String())
			})
		})
	}
}
