package caching

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
)

// flakyDeletes is a remote store that can fail every call (remote.fail), or
// its deletes only: the backend answers reads again, and the retries of the
// invalidations that failed have not landed yet.
type flakyDeletes struct {
	*remote
	deletesDown atomic.Bool
}

func (f *flakyDeletes) Delete(ctx context.Context, keys ...string) error {
	if f.deletesDown.Load() {
		f.trips.Add(1)
		return errDown
	}
	return f.remote.Delete(ctx, keys...)
}

// pendingEnv is a Cache over a flakyDeletes store (behind a near cache, or
// not), with a view of /items/{id} that invalidates on writes, a memoized
// function and a tagged key of the direct API, all of which read data.
type pendingEnv struct {
	c     *Cache
	r     *flakyDeletes
	mux   *http.ServeMux
	m     *Memoized[int, int]
	data  atomic.Int64
	reads atomic.Int64 // the view's handler runs
	calls atomic.Int64 // the memoized function's calls
}

func newPendingEnv(t *testing.T, nearCache bool) *pendingEnv {
	e := &pendingEnv{r: &flakyDeletes{remote: &remote{Backend: newSimple(t, nil)}}}
	var b backend.Backend = e.r
	if nearCache {
		b = near.Must(e.r, near.Options{MaxStale: time.Hour})
	}
	// A breaker that never opens: the calls meet the backend itself.
	e.c = Must(&Options{Backend: b, Breaker: BreakerOptions{Threshold: 1 << 30}})
	t.Cleanup(func() { e.c.Close() })
	view := e.c.Cached(time.Hour, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))
	e.mux = http.NewServeMux()
	e.mux.Handle("GET /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		e.reads.Add(1)
		w.Write([]byte{byte('0' + e.data.Load())})
	})))
	e.mux.Handle("POST /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	e.m = Memoize(e.c, "price", func(context.Context, int) (int, error) {
		e.calls.Add(1)
		return int(e.data.Load()), nil
	},
		Tags("prices"), TTL(time.Hour))
	return e
}

// invalidations are the APIs whose invalidation is retried when it fails,
// each with the read of what it ends: the value served, and whether it was
// a hit (from the cache) or read anew.
var invalidations = []struct {
	api        string
	invalidate func(ctx context.Context, e *pendingEnv) error
	read       func(ctx context.Context, t *testing.T, e *pendingEnv) (v int64, hit bool)
}{
	{"InvalidateOnWrite", func(_ context.Context, e *pendingEnv) error {
		// The write is answered; its invalidation fails and waits.
		if w := send(e.mux, http.MethodPost, "/items/1"); w.Code != http.StatusNoContent {
			return nil
		}
		return errDown
	}, readView},
	{"InvalidatePath", func(ctx context.Context, e *pendingEnv) error {
		return e.c.InvalidatePath(ctx, "/items/1")
	}, readView},
	{"InvalidateTags", func(ctx context.Context, e *pendingEnv) error {
		return e.c.InvalidateTags(ctx, "prices")
	}, readMemo},
	{"InvalidateTags/direct", func(ctx context.Context, e *pendingEnv) error {
		return e.c.InvalidateTags(ctx, "prices")
	}, readDirect},
	{"Forget", func(ctx context.Context, e *pendingEnv) error {
		return e.m.Forget(ctx, 7)
	}, readMemo},
	{"ForgetAll", func(ctx context.Context, e *pendingEnv) error {
		return e.m.ForgetAll(ctx)
	}, readMemo},
}

func readView(_ context.Context, t *testing.T, e *pendingEnv) (int64, bool) {
	w := get(e.mux, "/items/1")
	require.Equal(t, http.StatusOK, w.Code)
	return int64(w.Body.String()[0] - '0'), w.Header().Get("X-Cache") == "HIT"
}

func readMemo(ctx context.Context, t *testing.T, e *pendingEnv) (int64, bool) {
	calls := e.calls.Load()
	v, err := e.m.Get(ctx, 7)
	require.NoError(t, err)
	return int64(v), e.calls.Load() == calls
}

// readDirect reads the key "price", tagged "prices", of the direct API,
// and sets it from the data on a miss.
func readDirect(ctx context.Context, t *testing.T, e *pendingEnv) (int64, bool) {
	if b, err := e.c.Get(ctx, "price"); err == nil {
		return int64(b[0] - '0'), true
	}
	v := e.data.Load()
	require.NoError(t, e.c.Set(ctx, "price", []byte{byte('0' + v)}, time.Hour, Tags("prices")))
	return v, false
}

// TestPendingInvalidationNotServedOnceBackendAnswers: an invalidation that
// failed during an outage waits in the retry set, and is retried once the
// backend answers again. Between the backend answering reads again and the
// retry's deletes landing, a lookup read the entry and the versions it was
// written under, all still there, and served the value from before the
// change as a HIT. A lookup of an entry whose key, or the key of a tag it
// was written under, waits in the retry set is now a miss: nothing
// invalidated is served once the backend is back.
func TestPendingInvalidationNotServedOnceBackendAnswers(t *testing.T) {
	for _, nearCache := range []bool{false, true} {
		for _, inv := range invalidations {
			name := inv.api
			if nearCache {
				name += "/near"
			}
			t.Run(name, func(t *testing.T) {
				ctx := context.Background()
				e := newPendingEnv(t, nearCache)
				e.data.Store(1)
				inv.read(ctx, t, e)
				v, hit := inv.read(ctx, t, e)
				require.True(t, hit, "a hit before the outage")
				require.EqualValues(t, 1, v)

				e.data.Store(2) // the data changes while the backend is down
				e.r.fail.Store(true)
				require.Error(t, inv.invalidate(ctx, e))
				require.EqualValues(t, 1, e.c.Stats().PendingInvalidations, "the invalidation waits")

				// The backend answers reads again; the deletes have not
				// landed (they fail here, so that nothing races this read).
				e.r.deletesDown.Store(true)
				e.r.fail.Store(false)
				v, hit = inv.read(ctx, t, e)
				assert.False(t, hit, "the value the waiting invalidation ends was served as a hit")
				assert.EqualValues(t, 2, v, "the value read once the backend answers")
				require.EqualValues(t, 1, e.c.Stats().PendingInvalidations, "still waiting")

				e.r.deletesDown.Store(false)
				require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 5*time.Second, time.Millisecond)
				v, _ = inv.read(ctx, t, e)
				assert.EqualValues(t, 2, v, "after the retry")
				v, hit = inv.read(ctx, t, e)
				assert.True(t, hit, "cached again once nothing waits")
				assert.EqualValues(t, 2, v)
			})
		}
	}
}

// TestPendingInvalidationNotServedRightAfterRecovery: once the backend
// answers again, the first read wakes the retry of the waiting
// invalidation, whose deletes land a round trip later; that read, made
// before them, read the old entry and its versions, and served the value
// from before the change as a HIT. It now reads it anew.
func TestPendingInvalidationNotServedRightAfterRecovery(t *testing.T) {
	ctx := context.Background()
	e := newPendingEnv(t, false)
	e.data.Store(1)
	readView(ctx, t, e)
	e.r.fail.Store(true)
	e.data.Store(2)
	require.Error(t, invalidations[0].invalidate(ctx, e))
	require.EqualValues(t, 1, e.c.Stats().PendingInvalidations)

	e.r.fail.Store(false)
	v, hit := readView(ctx, t, e)
	assert.False(t, hit, "the response the waiting invalidation ends was a HIT")
	assert.EqualValues(t, 2, v)
	assert.EqualValues(t, 2, e.reads.Load(), "the handler ran")
}

// heldReads is a remote store whose GetMany, once it has read, can wait
// for something before it answers.
type heldReads struct {
	*remote
	hold atomic.Pointer[func()]
}

func (h *heldReads) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	vals, err := h.remote.GetMany(ctx, keys)
	if f := h.hold.Load(); f != nil {
		(*f)()
	}
	return vals, err
}

// TestPendingInvalidationLandingDuringRead: a read of the entry and its
// versions made before the retry's deletes landed, and answered after
// them, found the set empty by then, and served what the deletes ended as a
// HIT. A lookup during which a retry landed is now a miss.
func TestPendingInvalidationLandingDuringRead(t *testing.T) {
	r := &heldReads{remote: &remote{Backend: newSimple(t, nil)}}
	c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
	t.Cleanup(func() { c.Close() })
	var data, reads atomic.Int64
	h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		reads.Add(1)
		w.Write([]byte{byte('0' + data.Load())})
	}))
	data.Store(1)
	get(h, "/items/1")
	require.Equal(t, "HIT", get(h, "/items/1").Header().Get("X-Cache"))

	ctx := context.Background()
	r.fail.Store(true)
	data.Store(2)
	require.Error(t, c.InvalidatePath(ctx, "/items/1"))
	require.EqualValues(t, 1, c.Stats().PendingInvalidations)
	r.fail.Store(false)
	// The read takes the entry and its versions, then answers once the
	// retry (on its timer, 100ms after the failure) has deleted them.
	landed := func() {
		r.hold.Store(nil)
		require.Eventually(t, func() bool { return c.Stats().PendingInvalidations == 0 }, 5*time.Second, time.Millisecond)
	}
	r.hold.Store(&landed)
	w := get(h, "/items/1")
	assert.NotEqual(t, "HIT", w.Header().Get("X-Cache"), "what the retry deleted during the read was served")
	assert.Equal(t, "2", w.Body.String())
}
