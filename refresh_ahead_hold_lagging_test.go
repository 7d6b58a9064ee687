package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// replicaStore is a store read through a replica that lags: while lag is
// set, a Get of a key returns the first value ever written under it (the
// entry of before every later write), as a replica that has not seen the
// writes since would; while miss is set, a Get finds nothing, as a replica
// that has not seen the key at all. It hides the in-process store's
// capabilities, as remote does: the Cache reads encoded entries with Get.
type replicaStore struct {
	backend.Backend
	lag   atomic.Bool
	miss  atomic.Bool
	mu    sync.Mutex
	first map[string][]byte
}

func newReplicaStore(t *testing.T) *replicaStore {
	return &replicaStore{Backend: newSimple(t, nil), first: map[string][]byte{}}
}

func (l *replicaStore) Get(ctx context.Context, key string) ([]byte, error) {
	if l.miss.Load() {
		return nil, fmt.Errorf("replica: %w", backend.ErrNotFound)
	}
	if l.lag.Load() {
		l.mu.Lock()
		v, ok := l.first[key]
		l.mu.Unlock()
		if ok {
			return append([]byte(nil), v...), nil
		}
	}
	return l.Backend.Get(ctx, key)
}

func (l *replicaStore) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	l.mu.Lock()
	if _, ok := l.first[key]; !ok {
		l.first[key] = append([]byte(nil), v...)
	}
	l.mu.Unlock()
	return l.Backend.Set(ctx, key, v, ttl)
}

// lagView is a view under RefreshAhead(4s) over a replicaStore (its
// non-SharedCache path, with RespectMaxAge, unless shared), and the
// options extra: its handler answers 503 while failing, and otherwise
// "page #N" with max-age=maxAge, and stale-while-revalidate=swr if set.
type lagView struct {
	c           *Cache
	h           http.Handler
	ls          *replicaStore
	runs        atomic.Int64
	maxAge      atomic.Int64
	swr         atomic.Int64
	failing     atomic.Bool
	sharedCache bool
}

func newLagView(t *testing.T, shared bool, extra ...ViewOption) *lagView {
	lv := &lagView{ls: newReplicaStore(t), sharedCache: shared}
	lv.maxAge.Store(60)
	lv.c = Must(&Options{Backend: lv.ls})
	t.Cleanup(func() { lv.c.Close() })
	opts := []ViewOption{RefreshAhead(4 * time.Second), RespectMaxAge()}
	if shared {
		opts = []ViewOption{RefreshAhead(4 * time.Second), SharedCache()}
	}
	opts = append(opts, extra...)
	lv.h = lv.c.Cached(time.Hour, opts...)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := lv.runs.Add(1)
		if lv.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		cc := fmt.Sprintf("max-age=%d", lv.maxAge.Load())
		if swr := lv.swr.Load(); swr > 0 {
			cc += fmt.Sprintf(", stale-while-revalidate=%d", swr)
		}
		w.Header().Set("Cache-Control", cc)
		fmt.Fprintf(w, "page #%d", n)
	}))
	return lv
}

// warm stores a new response for /p, fresh for maxAge seconds.
func (lv *lagView) warm(t *testing.T, maxAge int64) {
	lv.maxAge.Store(maxAge)
	rep := lv.c.Warm(context.Background(), lv.h, WarmTarget{URL: "http://example.com/p"})
	require.Equal(t, 1, rep.Stored)
}

// failNewer stores page #1, fresh for a minute, and, at stored, page #2,
// fresh for 4 s (due a second later), whose refresh, due later, fails: a
// hold of page #2 from then, for a second.
func (lv *lagView) failNewer(t *testing.T, stored, due time.Duration) {
	require.Equal(t, "page #1", lv.hit(t))
	time.Sleep(stored)
	lv.warm(t, 4)
	time.Sleep(due)
	lv.failing.Store(true)
	require.Equal(t, "page #2", lv.hit(t))
	require.Equal(t, int64(3), lv.runs.Load(), "the newer entry's refresh ran, and failed")
}

// hit serves /p, waits for the refresh it may start, and returns the body.
func (lv *lagView) hit(t *testing.T) string {
	body := get(lv.h, "/p").Body.String()
	synctest.Wait()
	return body
}

// TestViewRefreshAheadHoldDisplacedFailed: the refresh of an older entry
// read from a lagging replica, which a hold of a newer entry's failed
// refresh let through (the older entry near its end), ran (the replica
// still returned the older entry: nothing newer found) and failed. Its
// hold took the newer entry's place and kept off its own entry only: the
// newer entry's next hit, within the newer entry's hold, ran the failing
// origin again. The new hold keeps off the newer entry too, until that
// entry's hold would have ended, and not past it.
func TestViewRefreshAheadHoldDisplacedFailed(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lv := newLagView(t, shared)
				lv.failNewer(t, 58*time.Second, 1200*time.Millisecond) // held from 59.2 s to 60.2 s

				time.Sleep(300 * time.Millisecond) // 59.5 s
				lv.ls.lag.Store(true)
				require.Equal(t, "page #1", lv.hit(t), "the replica returns the older entry, fresh for 0.5 s")
				require.Equal(t, int64(4), lv.runs.Load(), "the older entry's refresh, near its end, was let through, ran, and failed: held until 60.5 s")
				lv.ls.lag.Store(false)

				time.Sleep(100 * time.Millisecond) // 59.6 s: within both holds
				require.Equal(t, "page #2", lv.hit(t))
				assert.Equal(t, int64(4), lv.runs.Load(), "the failing origin ran again for the newer entry within its hold")

				time.Sleep(700 * time.Millisecond) // 60.3 s: the newer entry's hold is over, the older's not
				require.Equal(t, "page #2", lv.hit(t))
				assert.Equal(t, int64(5), lv.runs.Load(), "the newer entry's hold outlived its end")
			})
		})
	}
}

// lagMemo is a memoized function under RefreshAhead(4s), TTL an hour,
// over a replicaStore, with the options extra: it fails while failing,
// and otherwise returns "short #N", fresh for 4 s, while short, and
// "long #N", fresh for a minute. A call that finds held set takes it, and
// is held until its release.
type lagMemo struct {
	ls             *replicaStore
	m              *Memoized[int, string]
	runs           atomic.Int64
	failing, short atomic.Bool
	held           atomic.Pointer[heldCall]
}

func newLagMemo(t *testing.T, extra ...MemoOption) *lagMemo {
	lm := &lagMemo{ls: newReplicaStore(t)}
	c := Must(&Options{Backend: lm.ls})
	t.Cleanup(func() { c.Close() })
	opts := append([]MemoOption{TTL(time.Hour), RefreshAhead(4 * time.Second), ResultTTL(func(r string) time.Duration {
		if r[0] == 's' {
			return 4 * time.Second
		}
		return time.Minute
	})}, extra...)
	lm.m = Memoize(c, "lag", func(context.Context, int) (string, error) {
		n := lm.runs.Add(1)
		if h := lm.held.Swap(nil); h != nil {
			h.entered <- struct{}{}
			<-h.release
		}
		switch {
		case lm.failing.Load():
			return "", errors.New("down")
		case lm.short.Load():
			return fmt.Sprintf("short #%d", n), nil
		}
		return fmt.Sprintf("long #%d", n), nil
	}, opts...)
	return lm
}

// hit calls the function for 1, waits for the refresh it may start, and
// returns the result.
func (lm *lagMemo) hit(t *testing.T) string {
	v, err := lm.m.Get(context.Background(), 1)
	require.NoError(t, err)
	synctest.Wait()
	return v
}

// failNewer stores long #1, fresh until 60 s, and, at 58 s, short #2,
// fresh until 62 s (due at 59 s), whose refresh fails at 59.2 s: a hold
// of short #2 until 60.2 s.
func (lm *lagMemo) failNewer(t *testing.T) {
	require.Equal(t, "long #1", lm.hit(t))
	time.Sleep(58 * time.Second)
	lm.short.Store(true)
	v, err := lm.m.Refresh(context.Background(), 1)
	require.NoError(t, err)
	require.Equal(t, "short #2", v)
	time.Sleep(1200 * time.Millisecond) // 59.2 s
	lm.failing.Store(true)
	require.Equal(t, "short #2", lm.hit(t))
	require.Equal(t, int64(3), lm.runs.Load(), "the newer entry's refresh ran, and failed: held until 60.2 s")
}

// TestMemoizeRefreshAheadHoldDisplacedFailed is
// TestViewRefreshAheadHoldDisplacedFailed for a memoized function.
func TestMemoizeRefreshAheadHoldDisplacedFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lm := newLagMemo(t)
		lm.failNewer(t)

		time.Sleep(300 * time.Millisecond) // 59.5 s
		lm.ls.lag.Store(true)
		require.Equal(t, "long #1", lm.hit(t), "the replica returns the older entry, fresh for 0.5 s")
		require.Equal(t, int64(4), lm.runs.Load(), "the older entry's refresh, near its end, was let through, ran, and failed: held until 60.5 s")
		lm.ls.lag.Store(false)

		time.Sleep(100 * time.Millisecond) // 59.6 s: within both holds
		require.Equal(t, "short #2", lm.hit(t))
		assert.Equal(t, int64(4), lm.runs.Load(), "the failing function ran again for the newer entry within its hold")

		time.Sleep(700 * time.Millisecond) // 60.3 s: the newer entry's hold is over, the older's not
		require.Equal(t, "short #2", lm.hit(t))
		assert.Equal(t, int64(5), lm.runs.Load(), "the newer entry's hold outlived its end")
	})
}

// expiringAim is the aim of an entry created at created that expires at
// once: a hold keeps it off by its identity alone, not as an older entry
// fresh past the hold.
func expiringAim(created int64) aheadAim {
	return aheadAim{created: created, freshUntil: created + 100, left: time.Nanosecond}
}

// TestAheadHoldKeepsDisplacedChain: a hold made in place of a hold that
// was made in place of another keeps off what each of them kept off, each
// until its own end, and keeps none that has ended (live).
func TestAheadHoldKeepsDisplacedChain(t *testing.T) {
	aim := expiringAim
	ended := newAheadHold(aim(1), -time.Second, nil) // over already
	b := newAheadHold(aim(30), time.Hour, &ended)
	assert.Nil(t, b.also, "an ended hold was kept")
	a := newAheadHold(aim(20), time.Hour, &b)
	c := newAheadHold(aim(10), time.Hour, &a)
	for _, created := range []int64{10, 20, 30} {
		assert.True(t, c.keepsOff(aim(created)), "the hold of the entry created at %d was lost", created)
	}
	assert.False(t, c.keepsOff(aim(40)), "a newer entry was kept off")
	assert.False(t, c.keepsOff(aim(1)), "an ended hold kept its entry off")

	short := newAheadHold(aim(30), time.Hour, nil)
	long := newAheadHold(aim(20), time.Hour, &short)
	require.Same(t, &short, long.also)
	short.end = time.Since(monoBase) - 1 // it ends, under a hold that lasts
	assert.False(t, long.keepsOff(aim(30)), "a hold kept its entry off past its end")
	next := newAheadHold(aim(10), time.Hour, &long)
	require.NotNil(t, next.also)
	assert.Nil(t, next.also.also, "an ended hold under a live one was kept")
	assert.Same(t, &short, long.also, "a hold read without a lock was changed")
	assert.True(t, next.keepsOff(aim(20)))
}

// TestAheadHoldChainBounded: failed refreshes of many entries of one key
// within a hold's length, each in the last one's place (replicas that
// return many versions of the key, a fast-failing origin), grew a chain
// of as many holds, kept for the key and walked by each due hit. The chain
// keeps the newest maxAheadHolds; a dropped one's entry is let through.
func TestAheadHoldChainBounded(t *testing.T) {
	const failed = 100
	var h *aheadHold
	for i := int64(1); i <= failed; i++ {
		next := newAheadHold(expiringAim(i), time.Hour, h)
		h = &next
	}
	n := 0
	for l := h; l != nil; l = l.also {
		n++
	}
	assert.Equal(t, maxAheadHolds, n, "holds in the chain")
	for i := int64(failed - maxAheadHolds + 1); i <= failed; i++ {
		assert.True(t, h.keepsOff(expiringAim(i)), "the hold of entry %d, among the newest, was dropped", i)
	}
	assert.False(t, h.keepsOff(expiringAim(failed-maxAheadHolds)), "a dropped hold kept its entry off")

	// A dropped hold that would have ended last no longer keeps the chain
	// (its timer, over) past the end of those it keeps.
	first := newAheadHold(expiringAim(1), 2*time.Hour, nil)
	h = &first
	for i := int64(2); i <= maxAheadHolds+1; i++ {
		next := newAheadHold(expiringAim(i), time.Hour, h)
		h = &next
	}
	assert.Less(t, h.last, first.end, "the chain lasts as long as a hold it dropped")
	assert.Less(t, h.wait(time.Hour), 90*time.Minute, "the chain's timer waits for a hold it dropped")
}
