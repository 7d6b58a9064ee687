package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestMemoizeCallWithinSupersedesOthers: a Refresh (or a Get that RefreshIf
// forces) made after an update, with the context of a computation of its
// own key (C, a Get's miss that read the data before the update), computes
// inline. It superseded nothing and stored nothing: a Refresh (D) begun
// before the update stored its older result after the call returned the
// new one, or had stored it before the call and kept it, and C, where it
// returned before the call went on (withinDecidedHook), had stored its
// own. Now the call supersedes the computations of its key but the one it
// is made within, and stores its result as a Refresh does: the entry ends
// with its result, or with C's where C, still running and not superseded
// before the call (it holds the call's result), stores after it; never D's.
func TestMemoizeCallWithinSupersedesOthers(t *testing.T) {
	for _, st := range withinStores {
		for _, call := range withinCalls() {
			for _, d := range []withinD{withinNoD, withinDBefore, withinDAfter} {
				for _, cLate := range []bool{false, true} {
					name := st.name + "/" + call.name + "/" + d.String() + "/C returns "
					if cLate {
						name += "after the call"
					} else {
						name += "as it is decided"
					}
					t.Run(name, func(t *testing.T) {
						testCallWithinSupersedes(t, st.open(t), call.call, d, cLate)
					})
				}
			}
		}
	}
}

// withinStores are the stores the tests of a call made within its own
// computation run on.
var withinStores = []struct {
	name string
	open func(t *testing.T) backend.Backend
}{
	{"local", func(t *testing.T) backend.Backend { return newSimple(t, nil) }},
	{"remote", func(t *testing.T) backend.Backend { return &remote{Backend: newSimple(t, nil)} }},
}

// withinCall is a call of those tests: a Refresh, or a Get that RefreshIf
// forces (see withinHeld).
type withinCall struct {
	name string
	call func(m *Memoized[int, string], ctx context.Context) (string, error)
}

// withinCalls returns the calls of those tests.
func withinCalls() []withinCall {
	return []withinCall{
		{"Refresh", func(m *Memoized[int, string], ctx context.Context) (string, error) { return m.Refresh(ctx, 1) }},
		{"forced Get", func(m *Memoized[int, string], ctx context.Context) (string, error) {
			return m.Get(context.WithValue(ctx, withinForcedKey{}, true), 1)
		}},
	}
}

// withinD is when the Refresh D of TestMemoizeCallWithinSupersedesOthers,
// begun before the update, returns, if there is one.
type withinD int

const (
	withinNoD     withinD = iota
	withinDBefore         // before the call is made
	withinDAfter          // after the call returned
)

func (d withinD) String() string {
	return [...]string{"no D", "D returns before", "D returns after"}[d]
}

// testCallWithinSupersedes is TestMemoizeCallWithinSupersedesOthers on b
// for one call, D and C.
func testCallWithinSupersedes(t *testing.T, b backend.Backend, call func(m *Memoized[int, string], ctx context.Context) (string, error), d withinD, cLate bool) {
	ctx := context.Background()
	w := newWithinHeld(t, b, "within-supersedes")
	m, key, data, fnCtx := w.m, w.key, &w.data, w.fnCtx

	start := w.start
	finish := func(h *heldCall, done chan withinResult) withinResult {
		close(h.release)
		r := <-done
		require.NoError(t, r.err)
		return r
	}

	// C: a Get's miss, held; its fn's context is kept past it, without
	// its cancellation (flight cancels it as C returns).
	hC := newHeldCall(false)
	cDone := start(hC, func() (string, error) { return m.Get(ctx, 1) })
	cCtx := context.WithoutCancel(<-fnCtx)

	// D: a Refresh, which supersedes C, held once its fn read "old".
	var (
		hD    *heldCall
		dDone chan withinResult
	)
	if d != withinNoD {
		hD = newHeldCall(false)
		dDone = start(hD, func() (string, error) { return m.Refresh(ctx, 1) })
	}
	data.Store("new") // the update
	if d == withinDBefore {
		finish(hD, dDone)
	}

	var cRes withinResult
	decided, cReturned := false, false
	withinDecidedHook = func(k string, within bool) {
		decided = decided || k == key && within
		if k == key && within && !cLate && !cReturned {
			cReturned = true
			cRes = finish(hC, cDone)
		}
	}
	t.Cleanup(func() { withinDecidedHook = nil })
	res := make(chan withinResult, 1)
	go func() {
		v, err := call(m, cCtx)
		res <- withinResult{v, err}
	}()
	var got withinResult
	select {
	case got = <-res:
	case <-time.After(10 * time.Second):
		t.Fatal("the call made within C did not return: it waits for a computation")
	}
	require.NoError(t, got.err)
	assert.Equal(t, "new", got.v, "the call, made after the update, returned a result read before it")
	if cLate {
		cRes = finish(hC, cDone)
	}
	require.True(t, decided, "the call was not found made within C")
	if d == withinDAfter {
		finish(hD, dDone)
	}

	v, _, err := m.Peek(ctx, 1)
	require.NoError(t, err)
	if cLate && d == withinNoD {
		// C, not superseded before the call, holds its result, and
		// stores its own after it.
		assert.Equal(t, cRes.v, v, "the entry is not C's result, stored after the call's")
		return
	}
	assert.Equal(t, "new", v, "the entry is not the result of the call made after the update")
}

// TestMemoizeCallWithinSupersedesInlineSibling: as
// TestMemoizeCallWithinSupersedesOthers, where D, the Refresh begun before
// the update, is made from within C too (fn's work left on another
// goroutine with fn's context), and so computes inline: the call made
// after the update is not made within D, and supersedes it. D, still
// computing when the call returns, does not store its older result after
// the call's; C, which neither superseded and which holds both, stores its
// own when it returns.
func TestMemoizeCallWithinSupersedesInlineSibling(t *testing.T) {
	for _, st := range withinStores {
		for _, call := range withinCalls() {
			t.Run(st.name+"/"+call.name, func(t *testing.T) {
				ctx := context.Background()
				w := newWithinHeld(t, st.open(t), "within-sibling")
				start := w.start
				hC := newHeldCall(false)
				cDone := start(hC, func() (string, error) { return w.m.Get(ctx, 1) })
				cCtx := context.WithoutCancel(<-w.fnCtx)
				hD := newHeldCall(false)
				dDone := start(hD, func() (string, error) { return w.m.Refresh(cCtx, 1) })
				w.data.Store("new") // the update

				res := make(chan withinResult, 1)
				go func() {
					v, err := call.call(w.m, cCtx)
					res <- withinResult{v, err}
				}()
				var got withinResult
				select {
				case got = <-res:
				case <-time.After(10 * time.Second):
					t.Fatal("the call made within C did not return: it waits for a computation")
				}
				require.NoError(t, got.err)
				assert.Equal(t, "new", got.v)
				v, _, err := w.m.Peek(ctx, 1)
				require.NoError(t, err, "the call made after the update stored nothing")
				assert.Equal(t, "new", v)

				close(hD.release)
				d := <-dDone
				require.NoError(t, d.err)
				assert.Equal(t, "old", d.v)
				v, _, err = w.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, "new", v, "D, begun before the update, stored its result after the call made after it")

				close(hC.release)
				cRes := <-cDone
				require.NoError(t, cRes.err)
				v, _, err = w.m.Peek(ctx, 1)
				require.NoError(t, err)
				assert.Equal(t, cRes.v, v, "C, which holds both, did not store its result after theirs")
			})
		}
	}
}

// withinResult is what a call of the tests of a call made within its own
// computation returned.
type withinResult struct {
	v   string
	err error
}

// start makes do, whose call of fn is held (h), on a goroutine of its
// own, and returns once fn has read the data; do's result comes on done.
func (w *withinHeld) start(h *heldCall, do func() (string, error)) (done chan withinResult) {
	w.hold.Store(h)
	done = make(chan withinResult, 1)
	go func() {
		v, err := do()
		done <- withinResult{v, err}
	}()
	<-h.entered
	return done
}
