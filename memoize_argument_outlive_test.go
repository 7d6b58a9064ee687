package caching

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Tests of a memoized computation that outlives its caller (see ownArg,
// lentArg): what it may read of the caller's argument, and when its key is
// checked again.

// leaderLeavesJoiner plays, in a synctest bubble, the scene of the tests of
// a computation that outlives its caller: leader starts it with a ctx that
// is cancelled once joiner (a caller with a live ctx) has joined it; when
// the leader's caller has returned, recycle changes what it passed, and
// release lets the computation go on. It returns what joiner got, and what
// it panicked with (nil: none).
func leaderLeavesJoiner(leader func(ctx context.Context), joiner func() (string, error), recycle, release func()) (got string, panicked any, err error) {
	ctx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		leader(ctx)
	}()
	synctest.Wait()
	joinerDone := make(chan struct{})
	go func() {
		defer close(joinerDone)
		defer func() { panicked = recover() }()
		got, err = joiner()
	}()
	synctest.Wait() // joined
	cancel()
	<-leaderDone // the leader's caller has returned
	recycle()
	release()
	<-joinerDone
	return got, panicked, err
}

type outliveUser struct{ ID string }
type outliveRequest struct{ User *outliveUser }

// TestMemoizeKeyFuncRecheckOfRecycledArgumentDoesNotPanicJoiners: under
// KeyFunc the key is checked again, with the caller's own argument, when a
// computation whose caller returned ends. A caller that recycles its
// request once Get returned (*r = Request{}, as a sync.Pool user does)
// makes the key function dereference a nil pointer: that is "the key
// changed", not a panic handed to a caller that joined with an intact
// argument and a live ctx.
func TestMemoizeKeyFuncRecheckOfRecycledArgumentDoesNotPanicJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var block atomic.Bool
		block.Store(true)
		release := make(chan struct{})
		m := Memoize(c, "outlive-profile", func(_ context.Context, r *outliveRequest) (string, error) {
			id := r.User.ID // read first, as fn does
			if block.Load() {
				<-release
			}
			return "profile of " + id, nil
		}, TTL(time.Minute), KeyFunc(func(r *outliveRequest) string { return r.User.ID }))

		req := &outliveRequest{User: &outliveUser{ID: "alice"}}
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = m.Get(ctx, req) },
			func() (string, error) { return m.Get(t.Context(), &outliveRequest{User: &outliveUser{ID: "alice"}}) },
			func() { *req = outliveRequest{} }, // recycled once Get returned
			func() { block.Store(false); close(release) },
		)
		if panicked != nil {
			t.Fatalf("a joiner with a live ctx panicked on another caller's recycled argument: %v", panicValue(panicked))
		}
		require.NoError(t, err)
		assert.Equal(t, "profile of alice", got)
	})
}

type outliveProfile struct{ ID string }

// outliveSession is keyed by its own method: the copy shares a
// *outliveSession with the caller, and its key is made again when fn
// returns.
type outliveSession struct{ P *outliveProfile }

func (s *outliveSession) CacheKey() string { return s.P.ID }

type outliveQuery struct{ S *outliveSession }

// TestMemoizeSharedRecheckOfRecycledArgumentDoesNotPanicJoiners: the
// partial copy's case. The key of the second copy is made again with
// CacheKey on the pointer it shares with a caller that left and recycled
// it: its panic means "the key can no longer be made", so changed, and the
// joiner computes again.
func TestMemoizeSharedRecheckOfRecycledArgumentDoesNotPanicJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var block atomic.Bool
		block.Store(true)
		release := make(chan struct{})
		m := Memoize(c, "outlive-session", func(_ context.Context, q outliveQuery) (string, error) {
			id := q.S.P.ID
			if block.Load() {
				<-release
			}
			return "session of " + id, nil
		}, TTL(time.Minute))

		s := &outliveSession{P: &outliveProfile{ID: "alice"}}
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = m.Get(ctx, outliveQuery{S: s}) },
			func() (string, error) {
				return m.Get(t.Context(), outliveQuery{S: &outliveSession{P: &outliveProfile{ID: "alice"}}})
			},
			func() { *s = outliveSession{} }, // recycled once Get returned
			func() { block.Store(false); close(release) },
		)
		if panicked != nil {
			t.Fatalf("a joiner with a live ctx panicked on another caller's recycled argument: %v", panicValue(panicked))
		}
		require.NoError(t, err)
		assert.Equal(t, "session of alice", got)
	})
}

// TestMemoizePanicForChangedArgumentNotHandedToJoiners: fn panics in a
// computation whose caller left and changed the argument's key while fn
// ran: the panic may be another argument's, so it is not handed to the
// caller that joined (which computes for its own argument), and it is
// logged and counted.
func TestMemoizePanicForChangedArgumentNotHandedToJoiners(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var first atomic.Bool
		first.Store(true)
		release := make(chan struct{})
		m := Memoize(c, "outlive-panic", func(_ context.Context, r *outliveRequest) (string, error) {
			id := r.User.ID
			if first.CompareAndSwap(true, false) {
				<-release
				panic("no profile for " + id)
			}
			return "profile of " + id, nil
		}, TTL(time.Minute), KeyFunc(func(r *outliveRequest) string { return r.User.ID }))

		req := &outliveRequest{User: &outliveUser{ID: "alice"}}
		got, panicked, err := leaderLeavesJoiner(
			func(ctx context.Context) { _, _ = m.Get(ctx, req) },
			func() (string, error) { return m.Get(t.Context(), &outliveRequest{User: &outliveUser{ID: "alice"}}) },
			func() { req.User = &outliveUser{ID: "mallory"} }, // reused once Get returned
			func() { close(release) },
		)
		if panicked != nil {
			t.Fatalf("a joiner panicked with a computation for a changed argument: %v", panicValue(panicked))
		}
		require.NoError(t, err)
		assert.Equal(t, "profile of alice", got)
		assert.Positive(t, c.Stats().Errors, "the dropped panic is counted")
	})
}

// TestMemoizeKeyFuncRefreshOfChangedArgumentNotStored: under KeyFunc the
// argument is used as given, so a background refresh (StaleWhileRevalidate)
// runs fn on the caller's own slice after Get returned; the caller must not
// change it then. One that does anyway (here, synchronised with fn, after
// fn read it) gets the refresh's result neither stored nor handed to a
// caller that joined it: the key is checked again when fn returns.
//
// (Review own3's version asserted that fn sees the argument as it was;
// with KeyFunc the argument is not copied, by design: a change the key
// does not show reaches fn, and an unsynchronised one is the caller's data
// race.)
func TestMemoizeKeyFuncRefreshOfChangedArgumentNotStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int32
		var hold atomic.Bool
		read := make(chan string, 1)
		release := make(chan struct{})
		fn := func(_ context.Context, ids []string) (string, error) {
			s := strings.Join(ids, ",")
			n := calls.Add(1)
			if hold.CompareAndSwap(true, false) {
				read <- s
				<-release
			}
			return fmt.Sprintf("%s#%d", s, n), nil
		}
		key := KeyFunc(func(ids []string) string { return strings.Join(ids, ",") })
		m := Memoize(c, "outlive-ids", fn, TTL(time.Minute), StaleWhileRevalidate(time.Hour), key)
		// The same function without StaleWhileRevalidate: its Get of the
		// stale entry is a miss, which joins the refresh.
		joiner := Memoize(c, "outlive-ids", fn, TTL(time.Minute), key)

		ids := []string{"alice"}
		v, err := m.Get(t.Context(), ids)
		require.NoError(t, err)
		require.Equal(t, "alice#1", v)
		time.Sleep(2 * time.Minute) // stale
		hold.Store(true)
		v, err = m.Get(t.Context(), ids) // serves the stale result, starts a refresh
		require.NoError(t, err)
		require.Equal(t, "alice#1", v)
		require.Equal(t, "alice", <-read)
		ids[0] = "mallory" // changed after fn read it, before fn returned

		var got string
		var panicked any
		joinerDone := make(chan struct{})
		go func() {
			defer close(joinerDone)
			defer func() { panicked = recover() }()
			// A miss joins the refresh (a Refresh, or a Get that
			// RefreshIf forces, would not: they join no computation
			// begun before them).
			got, err = joiner.Get(t.Context(), []string{"alice"})
		}()
		synctest.Wait()
		select {
		case <-joinerDone:
			t.Fatal("the miss did not join the refresh")
		default:
		}
		close(release)
		<-joinerDone
		require.Nil(t, panicked)
		require.NoError(t, err)
		assert.Equal(t, "alice#3", got, "the joiner got the refresh's result for a changed argument")
		assert.Equal(t, int32(3), calls.Load())
		_, _, err = m.Peek(t.Context(), []string{"mallory"})
		assert.ErrorIs(t, err, ErrNotFound, "the refresh stored its result under another key")
		assert.Equal(t, int64(1), c.Stats().Errors, "the refused store is counted")
	})
}

type outliveEmailReq struct{ Email string }

// TestMemoizeKeyFuncFnNormalizingArgumentIsStoredOnce: under KeyFunc fn
// gets the caller's argument, and a fn that normalises it in place
// (r.Email = lower(r.Email)) changes its key. Its callers are all still
// waiting (none could change the argument), so the key is not checked
// again: the result is stored, and concurrent callers run fn once.
func TestMemoizeKeyFuncFnNormalizingArgumentIsStoredOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int32
		m := Memoize(c, "outlive-users", func(_ context.Context, r *outliveEmailReq) (string, error) {
			calls.Add(1)
			time.Sleep(time.Second)
			r.Email = strings.ToLower(r.Email)
			return "user " + r.Email, nil
		}, TTL(time.Minute), KeyFunc(func(r *outliveEmailReq) string { return r.Email }))

		const n = 10
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := m.Get(t.Context(), &outliveEmailReq{Email: "Alice@Example.com"})
				assert.NoError(t, err)
				assert.Equal(t, "user alice@example.com", v)
			}()
		}
		wg.Wait()
		assert.Equal(t, int32(1), calls.Load(), "fn ran more than once for one key")
		_, _, err = m.Peek(t.Context(), &outliveEmailReq{Email: "Alice@Example.com"})
		assert.NoError(t, err, "no result stored")
		assert.Zero(t, c.Stats().Errors)
	})
}

// earlyEndCtx is a context whose Done channel is closed but whose Err
// reads nil until Done has been read once: it ends exactly between
// flight.Do's check of ctx.Err() and the start of the work's goroutine, as
// a deadline that expires there does.
type earlyEndCtx struct {
	context.Context
	done  chan struct{}
	ended atomic.Bool
}

func newEarlyEndCtx() *earlyEndCtx {
	c := &earlyEndCtx{Context: context.Background(), done: make(chan struct{})}
	close(c.done)
	return c
}

func (c *earlyEndCtx) Done() <-chan struct{} { c.ended.Store(true); return c.done }
func (c *earlyEndCtx) Err() error {
	if c.ended.Load() {
		return context.Canceled
	}
	return nil
}

// TestMemoizeCallerLeftBeforeWorkStartedComputesForTheCache: a caller
// whose ctx ends before its computation's goroutine starts returns at
// once, and fn still runs for the cache, whatever A's type: the argument
// is copied as the caller returns.
func TestMemoizeCallerLeftBeforeWorkStartedComputesForTheCache(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()

	var calls atomic.Int32
	m := Memoize(c, "outlive-slice", func(_ context.Context, ids []string) (int, error) {
		calls.Add(1)
		return len(ids), nil
	}, TTL(time.Minute))

	ids := []string{"a"}
	_, err = m.Get(newEarlyEndCtx(), ids)
	require.ErrorIs(t, err, context.Canceled)
	ids[0] = "b" // reused once Get returned
	require.Eventually(t, func() bool {
		_, _, err := m.Peek(context.Background(), []string{"a"})
		return err == nil
	}, 5*time.Second, time.Millisecond, "fn went on for the cache")
	assert.Equal(t, int32(1), calls.Load())
	_, _, err = m.Peek(context.Background(), []string{"b"})
	assert.ErrorIs(t, err, ErrNotFound)
}

// TestMemoizeDownPathCountsChangedArgument: when the lookup failed, fn runs
// without the backend; a result whose argument changed after its caller
// left is counted in Stats.Errors and logged, as when the backend is up.
func TestMemoizeDownPathCountsChangedArgument(t *testing.T) {
	store := &failingStore{remote: remote{Backend: newSimple(t, nil)}}
	store.fail.Store(true)
	c, err := New(&Options{Backend: nopClose{store}, Timeout: time.Second, Breaker: BreakerOptions{Threshold: -1}})
	require.NoError(t, err)
	defer c.Close()
	started := make(chan struct{})
	release := make(chan struct{})
	m := Memoize(c, "outlive-down", func(_ context.Context, r *outliveRequest) (string, error) {
		id := r.User.ID
		close(started)
		<-release
		return "profile of " + id, nil
	}, TTL(time.Minute), KeyFunc(func(r *outliveRequest) string { return r.User.ID }))

	req := &outliveRequest{User: &outliveUser{ID: "alice"}}
	ctx, cancel := context.WithCancel(context.Background())
	leaderDone := make(chan struct{})
	go func() {
		defer close(leaderDone)
		_, _ = m.Get(ctx, req)
	}()
	<-started
	require.Equal(t, int64(1), c.Stats().Errors, "the failed lookup")
	cancel()
	<-leaderDone
	req.User = &outliveUser{ID: "mallory"}
	close(release)
	require.Eventually(t, func() bool { return c.Stats().Errors == 2 }, 5*time.Second, time.Millisecond,
		"the changed argument is counted")
}
