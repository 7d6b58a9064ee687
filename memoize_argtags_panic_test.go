package caching

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// panicUser / panicSession: a session keyed by its own method (CacheKey:
// the session id), so that the argument's copy shares it with the
// caller; the user is not part of the key. ArgTags reads the user (a
// logged-out session has none: ArgTags panics on it, as a nil
// dereference would). A mutex keeps the race detector out of the test's
// own recycling.
type panicUser struct{ Name string }

type panicSession struct {
	mu   sync.Mutex
	id   string
	user *panicUser
}

func (s *panicSession) CacheKey() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

func (s *panicSession) set(id string, u *panicUser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id, s.user = id, u
}

func (s *panicSession) userName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user.Name // nil user: panics
}

type panicQuery struct{ S *panicSession }

func panicTags(q panicQuery) []string { return []string{"user:" + q.S.userName()} }

// TestMemoizeArgTagsPanicReachesLeaderAsPanicError: the README guarantees
// that "a panic reaches every waiting caller as *caching.PanicError". A
// panic of ArgTags (called where the argument is made, ownArg) happens in
// the flight's work, whose *PanicError Get re-panics; Get's deferred
// giveBack does not call ArgTags a second time (its raw panic would
// replace the *PanicError).
func TestMemoizeArgTagsPanicReachesLeaderAsPanicError(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var tagCalls atomic.Int32
	m := Memoize(c, "argtags-panic-panicerror", func(_ context.Context, q panicQuery) (string, error) {
		return "data of " + q.S.userName(), nil
	}, TTL(time.Minute), ArgTags(func(q panicQuery) []string {
		tagCalls.Add(1)
		return panicTags(q)
	}))
	var panicked any
	func() {
		defer func() { panicked = recover() }()
		_, _ = m.Get(context.Background(), panicQuery{S: &panicSession{id: "anon"}})
	}()
	require.NotNil(t, panicked, "ArgTags panicked: Get must panic")
	_, ok := panicked.(*PanicError)
	t.Logf("ArgTags called %d times for one Get", tagCalls.Load())
	assert.True(t, ok, "the Get caller got %T (%v), not the documented *caching.PanicError", panicked, panicked)
}

// TestMemoizeArgTagsPanicInGiveBackStoresNoOtherUsersResult: a caller
// whose ctx ends before its computation's goroutine starts makes the
// argument in giveBack; ArgTags panics there (a logged-out session). The
// caller recycles the session for another user. The work then starts and
// must not read the caller's argument (it would copy bob's session, and
// fn's result for bob would be stored under the key of session
// "alice-sess"): the argument could not be made, so the work fails and
// nothing is stored.
func TestMemoizeArgTagsPanicInGiveBackStoresNoOtherUsersResult(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var calls atomic.Int32
	m := Memoize(c, "argtags-panic-giveback", func(_ context.Context, q panicQuery) (string, error) {
		defer calls.Add(1)
		return "data of " + q.S.userName(), nil
	}, TTL(time.Minute), ArgTags(panicTags))

	s := &panicSession{id: "alice-sess"} // logged out: no user
	func() {
		defer func() {
			r := recover()
			t.Logf("first Get (ctx ended early) panicked: %v", r)
			s.set("bob-sess", &panicUser{Name: "bob"}) // recycled for bob
		}()
		_, err := m.Get(newEarlyEndCtx(), panicQuery{S: s})
		t.Logf("first Get returned %v", err)
	}()
	for i := 0; calls.Load() == 0 && i < 2000; i++ {
		time.Sleep(time.Millisecond) // let the detached work run
	}
	got, err := m.Get(context.Background(), panicQuery{S: &panicSession{id: "alice-sess", user: &panicUser{Name: "alice"}}})
	require.NoError(t, err)
	assert.Equal(t, "data of alice", got, "another user's result stored under alice's session key")
}

// TestMemoizeArgTagsPanicOnStaleHitKeepsRefreshSlot: a stale hit calls
// ArgTags in the caller (refreshInBackground's ownArg); a panic there must
// not leave key in m.refreshing for ever (no background refresh of it
// again; maxRefreshes such keys would stop every background refresh of the
// function), nor panic the hit, which returns the stale value (the panic
// is logged, as a background refresh's is).
func TestMemoizeArgTagsPanicOnStaleHitKeepsRefreshSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, err := New(&Options{})
		require.NoError(t, err)
		defer c.Close()
		var calls atomic.Int32
		m := Memoize(c, "argtags-panic-swr", func(_ context.Context, q panicQuery) (string, error) {
			calls.Add(1)
			return "data of " + q.S.userName(), nil
		}, TTL(time.Minute), StaleWhileRevalidate(time.Hour), ArgTags(panicTags))
		alice := func() panicQuery { return panicQuery{S: &panicSession{id: "s1", user: &panicUser{Name: "alice"}}} }
		_, err = m.Get(context.Background(), alice())
		require.NoError(t, err)
		time.Sleep(2 * time.Minute) // stale, within the window

		var panicked any
		func() {
			defer func() { panicked = recover() }()
			_, _ = m.Get(context.Background(), panicQuery{S: &panicSession{id: "s1"}}) // logged out
		}()
		synctest.Wait()
		assert.Nil(t, panicked, "a stale hit panicked in the caller")

		before := calls.Load()
		v, err := m.Get(context.Background(), alice())
		require.NoError(t, err)
		assert.Equal(t, "data of alice", v)
		synctest.Wait()
		assert.Greater(t, calls.Load(), before, "the stale hit started no background refresh: key left in m.refreshing")
	})
}
