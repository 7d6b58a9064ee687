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
	e := &collapseEnv{c: c, blocking: 1, release: make(chan struct{})}
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

// TestCollapseTimeoutWaiterRunsHandler: a request that waits for another's
// run of its key longer than CollapseTimeout runs the handler itself: it
// gets its own response, labelled MISS, which is not stored, while the run
// it waited for goes on and stores its own. Before, it waited as long as
// that run took (a leader made slow by its own client held up every
// request of the key).
func TestCollapseTimeoutWaiterRunsHandler(t *testing.T) {
	for name, opts := range collapseViews {
		t.Run(name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				synctest.Test(t, func(t *testing.T) {
					e := newCollapseEnv(t, k, append([]ViewOption{CollapseTimeout(50 * time.Millisecond)}, opts...)...)
					var leader, waiters sync.WaitGroup
					lw := e.start(&leader, "Accept-Language", "en")
					synctest.Wait() // the leader's handler runs, blocked
					ww := e.start(&waiters, "Accept-Language", "en")
					synctest.Wait() // the waiter waits for the leader
					require.EqualValues(t, 1, e.runs.Load(), "the waiter waits")

					time.Sleep(60 * time.Millisecond) // fake time: the waiter gives up at 50 ms
					synctest.Wait()
					assert.EqualValues(t, 2, e.runs.Load(), "the waiter ran the handler")
					assert.EqualValues(t, 1, e.served.Load(), "the waiter has its response")
					_, stored := e.peek(t, "Accept-Language", "en")
					assert.False(t, stored, "the waiter's response is not stored")
					close(e.release)
					waiters.Wait()
					assert.Equal(t, "waiter en", ww.Body.String())
					assert.Equal(t, "MISS", ww.Header().Get("X-Cache"))
					leader.Wait()
					assert.Equal(t, "leader en", lw.Body.String())
					assert.Equal(t, "MISS", lw.Header().Get("X-Cache"))
					body, stored := e.peek(t, "Accept-Language", "en")
					assert.True(t, stored, "the leader still stores")
					assert.Equal(t, "leader en", body)

					w := get(e.h, "/a", "Accept-Language", "en")
					assert.Equal(t, "leader en", w.Body.String())
					assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
					assert.EqualValues(t, 2, e.runs.Load())
					st := e.c.Stats()
					assert.EqualValues(t, 2, st.Misses, "the waiter counts as a miss")
					assert.EqualValues(t, 1, st.Hits)
					assert.EqualValues(t, 1, st.CollapseTimeouts, "the waiter gave up; the leader and the hit did not wait")
				})
			})
		})
	}
}

// TestCollapseTimeoutOtherVariant: waiters of two variants that give up
// on a cold page's leader (its Vary not yet known) each get the response
// of their own variant, never the leader's, and none is stored but the
// leader's.
func TestCollapseTimeoutOtherVariant(t *testing.T) {
	for name, opts := range collapseViews {
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newCollapseEnv(t, viewStores[0], append([]ViewOption{CollapseTimeout(50 * time.Millisecond)}, opts...)...)
				var leader, waiters sync.WaitGroup
				lw := e.start(&leader, "Accept-Language", "en")
				synctest.Wait()
				fr := e.start(&waiters, "Accept-Language", "fr")
				en := e.start(&waiters, "Accept-Language", "en")
				synctest.Wait()
				require.EqualValues(t, 1, e.runs.Load(), "both wait on the base key's run")

				time.Sleep(60 * time.Millisecond) // fake time: both give up at 50 ms
				synctest.Wait()
				assert.EqualValues(t, 3, e.runs.Load(), "each waiter ran the handler")
				assert.EqualValues(t, 2, e.served.Load(), "each waiter has its response")
				close(e.release)
				waiters.Wait()
				leader.Wait()
				assert.Equal(t, "waiter fr", fr.Body.String())
				assert.Equal(t, "waiter en", en.Body.String())
				assert.Equal(t, "leader en", lw.Body.String())

				_, stored := e.peek(t, "Accept-Language", "fr")
				assert.False(t, stored, "the fr waiter's response is not stored")
				body, _ := e.peek(t, "Accept-Language", "en")
				assert.Equal(t, "leader en", body)
				w := get(e.h, "/a", "Accept-Language", "fr")
				assert.Equal(t, "waiter fr", w.Body.String(), "fr: a miss of its own")
				assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
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
// that gives up waiting for another's revalidation of a stale entry
// revalidates on its own, and is answered with the entry its 304
// validated, but does not freshen the stored entry: the revalidation it
// waited for does, when it ends.
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
				}
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = w.Write([]byte("hello"))
		}))
		require.Equal(t, "hello", get(h, "/a").Body.String())
		time.Sleep(2 * time.Second) // stale: to revalidate

		var leader, waiter sync.WaitGroup
		leader.Go(func() { get(h, "/a") })
		synctest.Wait()
		var w *httptest.ResponseRecorder
		waiter.Go(func() { w = get(h, "/a") })
		synctest.Wait()
		require.EqualValues(t, 1, conditional.Load(), "the waiter waits")
		time.Sleep(60 * time.Millisecond)
		synctest.Wait()
		assert.EqualValues(t, 2, conditional.Load(), "the waiter revalidated on its own")
		peek := func() bool {
			_, fresh, err := c.Peek(httptest.NewRequest(http.MethodGet, "/a", nil), SharedCache())
			require.NoError(t, err)
			return fresh
		}
		assert.False(t, peek(), "the waiter's 304 freshened nothing")
		close(release)
		waiter.Wait()
		leader.Wait()
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, "hello", w.Body.String())
		assert.True(t, peek(), "the leader's 304 freshened the entry")
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
