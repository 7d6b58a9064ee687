package caching

import (
	"context"
	"iter"
	"runtime"
	"sync/atomic"

	"github.com/go-caching/caching/internal/flight"
)

// A computation that asks for its own key from within itself would wait for
// itself: a memoized function or a GetOrSet load that asks for its own key
// (a recursion over a tree whose levels the key does not tell apart), a
// fragment whose template renders the same fragment ({{cache "tree"
// .Children}} without the value that tells the levels apart). Joined, the
// inner call waits for the outer computation, which waits for it, and
// every later caller of the key joins them: the page hangs for every
// client. Such a call does not join: it computes inline, as the same code
// does without a cache (a recursion that ends at its leaves ends; one that
// never ends overflows the stack as it would uncached), and stores nothing:
// what it computes is the outer computation's part, which the outer one
// stores under the key when it ends. But a memoized function's Refresh, or
// Get that RefreshIf forces, made so stores its result, as it would made
// anywhere else, superseding the other computations of its key in flight
// (memoShared.supersedeWithin), but not those it is made within.
//
// A call knows it is made from within its own computation in two ways:
//
//   - A memoized function's and a load's context carries the computations
//     it runs within (withComputation): a nested call given that context,
//     or one made from it, on any goroutine, finds its key there. One
//     given another context (context.Background()) is not seen.
//   - A fragment's render takes no context (nor do FragmentFunc's template
//     calls): every computation (a render, a load, a memoized function's)
//     runs through the frame of computing, and a fragment asked for from
//     within one (on its goroutine) while its key is in flight finds that
//     frame among its own (insideComputation): a render that reaches its
//     own key through a load or a memoized function, which run on
//     goroutines of their own, is seen too. Go has no goroutine-local
//     storage to say which computation it is, so the call does not join
//     any render of its key in flight: a nested fragment that two
//     different computations ask for at once is rendered by each.

// computationKey is the context key of the computations a context is made
// within.
type computationKey struct{}

// computation is one computation of a flight group, in the list of those
// a context is made within, the innermost first.
type computation struct {
	outer *computation
	group any // the *flight.Group of the computation
	key   string
	done  atomic.Bool // the computation returned: a context kept past it is not within it
	// memo is the epoch a memoized function's computation read (nil:
	// none, or not yet), which a Refresh or forced Get made from within it
	// keeps current (memoShared.supersedeWithin). Guarded by the
	// memoShared.emu of its name.
	memo *memoEpoch
}

// withComputation returns ctx, the context given to a computation of key in
// group, marked as made within it, and the computation, whose done the
// caller sets when it returns; ctx itself and nil when byStack (a
// fragment's render, which takes no context).
func withComputation(ctx context.Context, group any, key string, byStack bool) (context.Context, *computation) {
	if byStack {
		return ctx, nil
	}
	outer, _ := ctx.Value(computationKey{}).(*computation)
	c := &computation{outer: outer, group: group, key: key}
	return context.WithValue(ctx, computationKey{}, c), c
}

// finish marks c returned; c may be nil.
func (c *computation) finish() {
	if c != nil {
		c.done.Store(true)
	}
}

// withinItself reports whether a call for key in group is made from within
// its own computation: for a memoized function or a load, one its context
// is made within and that has not returned (whether or not its flight was
// forgotten since: a Delete, a forced call's supersede); for a fragment
// (byStack), a render on the caller's goroutine while a render of key is
// in flight in g.
func withinItself[V any](ctx context.Context, g *flight.Group[string, V], key string, byStack bool) bool {
	if byStack {
		return g.InFlight(key) && insideComputation()
	}
	for range enclosing(ctx, g, key) {
		return true
	}
	return false
}

// enclosing yields the computations of key in group that ctx is made
// within (see withComputation) and that have not returned, the innermost
// first.
func enclosing(ctx context.Context, group any, key string) iter.Seq[*computation] {
	return func(yield func(*computation) bool) {
		for c, _ := ctx.Value(computationKey{}).(*computation); c != nil; c = c.outer {
			if c.key == key && c.group == group && !c.done.Load() && !yield(c) {
				return
			}
		}
	}
}

// ownComputation returns the computation of key in group that ctx was
// given to (withComputation): the innermost one ctx is made within, if it
// is of key in group; nil if not.
func ownComputation(ctx context.Context, group any, key string) *computation {
	c, _ := ctx.Value(computationKey{}).(*computation)
	if c == nil || c.key != key || c.group != group {
		return nil
	}
	return c
}

// computing calls f, the work of a computation, through a frame that
// insideComputation finds.
//
//go:noinline
func computing(f func()) {
	f()
}

// computingReturn is the return address of computing's call of f: the pc
// of its frame in the stack of every call made from within f; 0 if it
// could not be found, and then no call is seen within a render.
var computingReturn = func() uintptr {
	var pc uintptr
	computing(func() {
		var pcs [1]uintptr
		if runtime.Callers(2, pcs[:]) == 1 { // 0: Callers, 1: this func, 2: computing
			pc = pcs[0]
		}
	})
	return pc
}()

// insideComputation reports whether the caller runs within a render (see
// computing). It walks the caller's stack: a call pays for it only when
// its key is in flight, when it would otherwise wait.
func insideComputation() bool {
	if computingReturn == 0 {
		return false
	}
	var pcs [64]uintptr
	for skip := 2; ; skip += len(pcs) {
		n := runtime.Callers(skip, pcs[:])
		for _, pc := range pcs[:n] {
			if pc == computingReturn {
				return true
			}
		}
		if n < len(pcs) {
			return false
		}
	}
}

// inlineKey is the context key of the computation a context is given to
// when it is computed inline (see above).
type inlineKey struct{}

// inline returns ctx marked as given to the inline computation of key in
// group.
func inline(ctx context.Context, group any, key string) context.Context {
	return context.WithValue(ctx, inlineKey{}, &computation{group: group, key: key})
}

// computedInline reports whether ctx was given to the inline computation
// of key in group, which stores nothing.
func computedInline(ctx context.Context, group any, key string) bool {
	c, _ := ctx.Value(inlineKey{}).(*computation)
	return c != nil && c.group == group && c.key == key
}
