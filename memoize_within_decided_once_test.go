package caching

import (
	"context"
	"log/slog"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// withinForcedKey is the context key of a Get that RefreshIf forces in
// TestMemoizeCallWithinReturningComputationDecidesOnce.
type withinForcedKey struct{}

// TestMemoizeCallWithinReturningComputationDecidesOnce: a Refresh (or a
// Get that RefreshIf forces) made after an update, with the context of a
// computation of its own key (C) that returns as it is made (made without
// its cancellation, as work that fn leaves running after it returns is
// given: context.WithoutCancel), decided
// twice whether it was made from within C: first (Get, Refresh) to skip
// its supersede, C still running, then again when it joined (do), C
// returned. It then joined a Refresh's computation in flight (D), begun
// before the update, which no supersede had stopped being joined, and
// returned D's result, read before the update it was called for ("old").
// It now decides once: made from within C, it computes inline, after the
// update ("new"). C returns between the two decisions (withinDecidedHook).
func TestMemoizeCallWithinReturningComputationDecidesOnce(t *testing.T) {
	for _, st := range withinStores {
		for _, call := range withinCalls() {
			t.Run(st.name+"/"+call.name, func(t *testing.T) {
				testCallWithinReturningComputation(t, st.open(t), call.call)
			})
		}
	}
}

// testCallWithinReturningComputation is
// TestMemoizeCallWithinReturningComputationDecidesOnce on b for one call.
func testCallWithinReturningComputation(t *testing.T, b backend.Backend, call func(m *Memoized[int, string], ctx context.Context) (string, error)) {
	ctx := context.Background()
	w := newWithinHeld(t, b, "within-decided")
	m, key, data, hold, fnCtx := w.m, w.key, &w.data, &w.hold, w.fnCtx

	// start makes do, whose call of fn is held (h), on a goroutine of its
	// own, and returns once fn has read the data; do's error comes on
	// done.
	start := func(h *heldCall, do func() error) (done chan error) {
		hold.Store(h)
		done = make(chan error, 1)
		go func() { done <- do() }()
		<-h.entered
		return done
	}

	// C: a Get's miss, held; its fn's context is kept past it, without
	// its cancellation (flight cancels it as C returns).
	hC := newHeldCall(false)
	cDone := start(hC, func() error { _, err := m.Get(ctx, 1); return err })
	cCtx := context.WithoutCancel(<-fnCtx)

	// D: a Refresh, which supersedes C, held once its fn read "old".
	hD := newHeldCall(false)
	dDone := start(hD, func() error { _, err := m.Refresh(ctx, 1); return err })
	data.Store("new") // the update

	// The call, made with C's context, finds C running; C returns before
	// the call goes on.
	var once atomic.Bool
	withinDecidedHook = func(k string, within bool) {
		if k == key && within && once.CompareAndSwap(false, true) {
			close(hC.release)
			assert.NoError(t, <-cDone)
		}
	}
	t.Cleanup(func() { withinDecidedHook = nil })
	type result struct {
		v   string
		err error
	}
	res := make(chan result, 1)
	go func() {
		v, err := call(m, cCtx)
		res <- result{v, err}
	}()
	// D is released once the call has joined it, or the call returned.
	var got result
	released := false
	for deadline := time.Now().Add(10 * time.Second); ; runtime.Gosched() {
		select {
		case got = <-res:
		default:
			if !released && m.calls.Waiters(key) >= 2 {
				close(hD.release)
				released = true
			}
			require.True(t, time.Now().Before(deadline), "the call neither joined D nor returned")
			continue
		}
		break
	}
	if !released {
		close(hD.release)
	}
	require.NoError(t, <-dDone)
	require.True(t, once.Load(), "the call was not found made within C")
	require.NoError(t, got.err)
	assert.Equal(t, "new", got.v, "the call, made after the update, returned a result read before it")
}

// withinHeld is the memoized function of the tests of a call made within
// its own computation: fn returns the data it read (data), its call held
// first if hold holds one (the context of the first held sent to fnCtx);
// RefreshIf forces a Get whose context holds withinForcedKey.
type withinHeld struct {
	m     *Memoized[int, string]
	key   string // the key of 1, the argument of the tests
	data  atomic.Value
	hold  atomic.Pointer[heldCall] // the next call of fn held
	fnCtx chan context.Context
}

// newWithinHeld returns a withinHeld of name on b, whose data is "old".
func newWithinHeld(t *testing.T, b backend.Backend, name string) *withinHeld {
	c, err := New(&Options{Backend: b, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	w := &withinHeld{fnCtx: make(chan context.Context, 1)}
	w.data.Store("old")
	w.m = Memoize(c, name, func(ctx context.Context, _ int) (string, error) {
		v := w.data.Load().(string)
		if h := w.hold.Swap(nil); h != nil {
			select {
			case w.fnCtx <- ctx: // C's, the first held
			default:
			}
			h.entered <- struct{}{}
			<-h.release
		}
		return v, nil
	}, TTL(time.Hour), RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(withinForcedKey{}) != nil }))
	w.key, err = w.m.Key(1)
	require.NoError(t, err)
	return w
}
