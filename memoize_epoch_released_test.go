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
)

// TestMemoizeKeyEpochBookkeepingReleasedOnEveryPath: what a Refresh or a
// forced Get registers in its key's epoch (keyEpoch.seeking, and the
// pending entry of its computation) is removed however it ends: its fn
// panicking, calling runtime.Goexit or failing, its caller's context
// ending while fn runs on, or a result stored. A key's epoch lives on
// while any computation of the key runs (a Get's miss, held here), so an
// entry left behind by each call would grow it without bound for as long
// as one does.
func TestMemoizeKeyEpochBookkeepingReleasedOnEveryPath(t *testing.T) {
	ctx := context.Background()
	c, err := New(&Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	type forcedKey struct{}
	var next atomic.Pointer[func() error] // what the next call of fn does first (an error: fails)
	m := Memoize(c, "epoch-released", func(context.Context, int) (string, error) {
		if f := next.Swap(nil); f != nil {
			if err := (*f)(); err != nil {
				return "", err
			}
		}
		return "v", nil
	}, TTL(time.Hour), StoreIf(func(string) bool { return false }),
		RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(forcedKey{}) != nil }))
	key, err := m.Key(1)
	require.NoError(t, err)
	do := func(f func() error) { next.Store(&f) }

	// A Get's miss, held: it keeps the key's epoch while the rest run.
	holderIn, holderRelease := make(chan struct{}), make(chan struct{})
	do(func() error { close(holderIn); <-holderRelease; return nil })
	holderDone := make(chan struct{})
	go func() {
		defer close(holderDone)
		_, _ = m.Get(ctx, 1)
	}()
	<-holderIn

	// calls runs one call of Refresh or a forced Get on its own goroutine
	// (a Goexit ends it, a panic is recovered) and waits for it to end.
	call := func(forced bool, callCtx context.Context) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { _ = recover() }()
			if forced {
				_, _ = m.Get(context.WithValue(callCtx, forcedKey{}, true), 1)
			} else {
				_, _ = m.Refresh(callCtx, 1)
			}
		}()
		<-done
	}
	var detached []chan struct{} // the releases of fns that ran on past their caller
	for _, forced := range []bool{false, true} {
		for range 3 {
			do(func() error { panic("fn panics") })
			call(forced, ctx)
			do(func() error { runtime.Goexit(); return nil })
			call(forced, ctx)
			do(func() error { return errors.New("db: timeout") })
			call(forced, ctx)
			call(forced, ctx) // its result is not stored (StoreIf): it removes the entry
			in, release := make(chan struct{}), make(chan struct{})
			do(func() error { close(in); <-release; return nil })
			cctx, cancel := context.WithCancel(ctx)
			go func() { <-in; cancel() }()
			call(forced, cctx) // returns as its context ends; fn runs on
			detached = append(detached, release)
			call(forced, cctx) // its context ended before it computed
		}
	}
	for _, release := range detached {
		close(release)
	}

	// Every call and computation but the holder's has ended (polled:
	// the detached ones end on their own goroutines; the deadline is
	// generous): nothing of theirs is left in the key's epoch.
	epochOf := func() (refs, seeking, pending int, ok bool) {
		m.shared.emu.Lock()
		defer m.shared.emu.Unlock()
		ke := m.shared.epochs[key]
		if ke == nil {
			return 0, 0, 0, false
		}
		return ke.refs, len(ke.seeking), len(ke.pending), true
	}
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		refs, _, _, ok := epochOf()
		require.True(t, ok, "the held Get's epoch is kept")
		if refs == 1 {
			break
		}
		require.True(t, time.Now().Before(deadline), "the computations did not end: %d registered", refs)
	}
	_, seeking, pending, _ := epochOf()
	assert.Zero(t, seeking, "Refreshes and forced Gets that returned are still registered as seeking")
	assert.Zero(t, pending, "computations that ended are still pending")

	close(holderRelease)
	<-holderDone
	_, _, _, ok := epochOf()
	assert.False(t, ok, "the key's epoch outlived its last computation")
}
