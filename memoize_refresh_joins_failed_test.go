package caching

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// heldCall is one call of a memoized function held until released, and
// what it then returns.
type heldCall struct {
	entered, release chan struct{}
	fail             bool
}

func newHeldCall(fail bool) *heldCall {
	return &heldCall{entered: make(chan struct{}, 1), release: make(chan struct{}), fail: fail}
}

// TestMemoizeRefreshJoiningFailedBackgroundRefreshRemovesOwedEntry: a
// Refresh (R2) made after an update supersedes a Refresh still computing
// (R1), which returns its new result; a hit's
// background refresh (StaleIf, within StaleWhileRevalidate) that begins
// between R2's supersede and its computation is joined by R2. Its fn
// failed, and a background refresh whose fn failed left the entry as it
// was: R2 returned the error, and the entry of the data before the
// update, though R1's caller got the new result, was served until its
// TTL. Now a background refresh whose fn fails removes the entry where a
// replacement it superseded is owed it (memoShared.owed), as a Refresh's
// own computation does: the next Get computes.
func TestMemoizeRefreshJoiningFailedBackgroundRefreshRemovesOwedEntry(t *testing.T) {
	for _, st := range setOrderStores {
		t.Run(st.name, func(t *testing.T) {
			ctx := context.Background()
			c, err := New(&Options{Backend: st.open(t, new(setHook)), Logger: slog.New(slog.DiscardHandler), Timeout: testutil.SlowTimeout})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			var data atomic.Value
			data.Store("old")
			var stale atomic.Bool
			var next atomic.Pointer[heldCall] // the next call of fn, held
			errDB := errors.New("db: timeout")
			m := Memoize(c, "refresh-joins-failed", func(context.Context, int) (string, error) {
				if h := next.Swap(nil); h != nil {
					h.entered <- struct{}{}
					<-h.release
					if h.fail {
						return "", errDB
					}
				}
				return data.Load().(string), nil
			}, TTL(time.Hour), StaleWhileRevalidate(time.Hour),
				StaleIf(func(v string) bool { return stale.Load() && v == "old" }))
			key, err := m.Key(1)
			require.NoError(t, err)
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			require.Equal(t, "old", v)

			// The data changes; R1 reads it, and is held.
			data.Store("new")
			r1 := newHeldCall(false)
			next.Store(r1)
			refreshed1 := make(chan string, 1)
			go func() {
				v, err := m.Refresh(ctx, 1)
				assert.NoError(t, err)
				refreshed1 <- v
			}()
			<-r1.entered

			// R2 supersedes R1; before it computes, a hit serves the entry
			// stale and starts a background refresh, whose fn is held and
			// is to fail.
			bg := newHeldCall(true)
			var hooked atomic.Bool
			refreshSupersededHook = func(k string) {
				if k != key || !hooked.CompareAndSwap(false, true) {
					return
				}
				next.Store(bg)
				stale.Store(true)
				v, err := m.Get(ctx, 1)
				stale.Store(false)
				assert.NoError(t, err)
				assert.Equal(t, "old", v, "served stale, with a refresh started")
				<-bg.entered
			}
			t.Cleanup(func() { refreshSupersededHook = nil })
			refreshed2 := make(chan error, 1)
			go func() {
				_, err := m.Refresh(ctx, 1)
				refreshed2 <- err
			}()
			// R2 joins the background refresh: it and the refresh's own
			// goroutine wait for it (polled: nothing else tells a join;
			// the deadline is generous).
			for deadline := time.Now().Add(10 * time.Second); m.calls.Waiters(key) < 2; {
				require.True(t, time.Now().Before(deadline), "R2 did not join the background refresh")
				runtime.Gosched()
			}

			// The refresh fails while R1 still computes (a superseded
			// replacement that ends first stores its result, where no
			// later call has written: see TestMemoizeSupersededRefreshStores).
			close(bg.release)
			assert.ErrorIs(t, <-refreshed2, errDB, "R2 gets the error of the refresh it joined")
			close(r1.release)
			assert.Equal(t, "new", <-refreshed1, "R1's caller gets the new result (not stored: the refresh removed the entry since)")

			v, _, err = m.Peek(ctx, 1)
			assert.ErrorIs(t, err, ErrNotFound, "the entry of the data before the update is still stored: %q", v)
			v, err = m.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "new", v)
		})
	}
}
