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
	m, key, data, hold, fnCtx := w.m, w.key, &w.data, &w.hold, w.fnCtx

	type result struct {
		v   string
		err error
	}
	// start makes do, whose call of fn is held (h), on a goroutine of its
	// own, and returns once fn has read the data; do's result comes on
	// done.
	start := func(h *heldCall, do func() (string, error)) (done chan result) {
		hold.Store(h)
		done = make(chan result, 1)
		go func() {
			v, err := do()
			done <- result{v, err}
		}()
		<-h.entered
		return done
	}
	finish := func(h *heldCall, done chan result) result {
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
		dDone chan result
	)
	if d != withinNoD {
		hD = newHeldCall(false)
		dDone = start(hD, func() (string, error) { return m.Refresh(ctx, 1) })
	}
	data.Store("new") // the update
	if d == withinDBefore {
		finish(hD, dDone)
	}

	var cRes result
	decided, cReturned := false, false
	withinDecidedHook = func(k string, within bool) {
		decided = decided || k == key && within
		if k == key && within && !cLate && !cReturned {
			cReturned = true
			cRes = finish(hC, cDone)
		}
	}
	t.Cleanup(func() { withinDecidedHook = nil })
	res := make(chan result, 1)
	go func() {
		v, err := call(m, cCtx)
		res <- result{v, err}
	}()
	var got result
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
