package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/httpcache"
)

// slowLang is a SharedCache handler that varies on X-Lang, takes a second
// (unless X-Lang starts with "junk") and answers "page in <X-Lang>".
func slowLang(calls *atomic.Int32) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		lang := r.Header.Get("X-Lang")
		if !strings.HasPrefix(lang, "junk") {
			time.Sleep(time.Second)
		}
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "X-Lang")
		_, _ = w.Write([]byte("page in " + lang))
	}
}

// TestFullVaryRecordWaitersGetLeadersResponse: when the Vary record holds
// MaxVariants variants, a new variant's response is not stored; that is
// known only once its body is complete. The requests that waited for it
// with the same variant got nothing and each ran the handler again, after
// the whole run: N runs instead of one, each waiter taking twice the
// handler's time. They now get the leader's response.
func TestFullVaryRecordWaitersGetLeadersResponse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int32
		h := c.Cached(time.Hour, SharedCache(), MaxVariants(2), CacheStatusHeader("X-Cache"))(slowLang(&calls))
		get(h, "/a", "X-Lang", "junk1")
		get(h, "/a", "X-Lang", "junk2")
		calls.Store(0)

		const n = 5
		var wg sync.WaitGroup
		start := time.Now()
		var slowest atomic.Int64
		bodies := make([]string, n)
		statuses := make([]string, n)
		for i := range n {
			wg.Go(func() {
				w := get(h, "/a", "X-Lang", "victim")
				bodies[i], statuses[i] = w.Body.String(), w.Header().Get("X-Cache")
				d := int64(time.Since(start))
				for {
					if old := slowest.Load(); d <= old || slowest.CompareAndSwap(old, d) {
						break
					}
				}
			})
		}
		wg.Wait()
		assert.EqualValues(t, 1, calls.Load(), "one run of the handler, its response handed to the waiters")
		assert.LessOrEqual(t, time.Duration(slowest.Load()), time.Second, "no request slower than without the cache")
		misses := 0
		for i := range n {
			assert.Equal(t, "page in victim", bodies[i], "request %d", i)
			if statuses[i] != "HIT" {
				misses++
			}
		}
		assert.Equal(t, 1, misses, "the leader's own request is the only miss")

		calls.Store(0)
		assert.Equal(t, "page in victim", get(h, "/a", "X-Lang", "victim").Body.String())
		assert.EqualValues(t, 1, calls.Load(), "the variant was not stored: the record is full")
	})
}

// TestFullVaryRecordWaiterOfAnotherVariantRunsItsOwn: a request that waited
// for a run whose response was refused for MaxVariants gets it only when
// its own headers match the response's on every name of its Vary; another
// variant's request runs the handler and gets its own response. The record
// is filled (by another view of the same Cache, as another process would)
// while the run is in progress, so that requests of several variants wait
// for it.
func TestFullVaryRecordWaiterOfAnotherVariantRunsItsOwn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int32
		opts := []ViewOption{SharedCache(), MaxVariants(2), CacheStatusHeader("X-Cache")}
		h1 := c.Cached(time.Hour, opts...)(slowLang(&calls))
		h2 := c.Cached(time.Hour, opts...)(slowLang(&calls))

		var wg sync.WaitGroup
		var leader, same, other *httptest.ResponseRecorder
		wg.Go(func() { leader = get(h1, "/a", "X-Lang", "en") })
		synctest.Wait() // it leads, its handler runs
		wg.Go(func() { same = get(h1, "/a", "X-Lang", "en") })
		wg.Go(func() { other = get(h1, "/a", "X-Lang", "fr") })
		synctest.Wait() // both wait for it: no record yet, one flight for the key
		get(h2, "/a", "X-Lang", "junk1")
		get(h2, "/a", "X-Lang", "junk2") // the record is full now
		wg.Wait()

		assert.Equal(t, "page in en", leader.Body.String())
		assert.Equal(t, "page in en", same.Body.String())
		assert.Equal(t, "HIT", same.Header().Get("X-Cache"), "the same variant gets the leader's response")
		assert.Equal(t, "page in fr", other.Body.String(), "never the response of another variant")
		assert.NotEqual(t, "HIT", other.Header().Get("X-Cache"))
		assert.EqualValues(t, 4, calls.Load(), "en, fr and the two junk variants: en's waiter ran nothing")
	})
}

// TestFullVaryRecordMarksTheLease: a response refused for MaxVariants is
// not stored, though it is handed to this process's waiters: its lease is
// marked "not stored", so that other processes' waiters run the handler at
// once rather than take the lease in turn, each waiting for another's run.
func TestFullVaryRecordMarksTheLease(t *testing.T) {
	a, _, s := leasePair(t, Options{Lease: time.Minute})
	h := a.Cached(time.Hour, SharedCache(), MaxVariants(1))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "X-Lang")
		_, _ = w.Write([]byte("page in " + r.Header.Get("X-Lang")))
	}))
	get(h, "/a", "X-Lang", "junk") // the record is full
	require.Equal(t, "page in victim", get(h, "/a", "X-Lang", "victim").Body.String())

	r := httptest.NewRequest(http.MethodGet, "/a", nil)
	r.Header.Set("X-Lang", "victim")
	base, err := a.ViewKey(r, SharedCache(), MaxVariants(1))
	require.NoError(t, err)
	key := variantNames{}.key(base, httpcache.VariantKey(r, []string{"X-Lang"}), []string{"X-Lang"})
	a.background.wait() // the lease's release, made after the response
	v, err := s.Get(context.Background(), a.leaseKey(key))
	require.NoError(t, err, "the lease is marked, not deleted")
	assert.Equal(t, string(leaseMarkedValue), string(v))
}

// TestSharedAuthorizationDoesNotWaitForUnusableRun: in SharedCache without
// UserKey, a request with Authorization joined an anonymous run of its key;
// with the common max-age=60 and no public, the response may not answer it
// (RFC 9111 section 3.5), so it waited the whole run, then ran the handler
// itself: twice the time it takes without the cache. It now runs its own.
func TestSharedAuthorizationDoesNotWaitForUnusableRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var calls atomic.Int32
		h := c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			time.Sleep(time.Second)
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("x for " + r.Header.Get("Authorization")))
		}))
		var wg sync.WaitGroup
		wg.Go(func() { get(h, "/api/items") })
		synctest.Wait()
		start := time.Now()
		var took time.Duration
		var body string
		wg.Go(func() {
			body = get(h, "/api/items", "Authorization", "Bearer alice").Body.String()
			took = time.Since(start)
		})
		wg.Wait()
		assert.LessOrEqual(t, took, time.Second, "no slower than without the cache")
		assert.Equal(t, "x for Bearer alice", body, "its own response")
		assert.EqualValues(t, 2, calls.Load())
	})
}
