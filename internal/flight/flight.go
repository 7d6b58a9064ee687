// Package flight is a typed singleflight: concurrent calls for one key run
// the work once and share its result.
//
// It differs from golang.org/x/sync/singleflight in three ways that a cache
// needs:
//
//   - Do runs the work in a goroutine of its own, with a context that keeps
//     the first caller's values but not its cancellation or deadline.
//     Every caller, the first one included, waits with its own context and
//     returns its own ctx.Err() as soon as that context is done, while the
//     work goes on for the callers still waiting (and for the cache that
//     stores its result). When the last caller has left, the work goes on
//     only while fewer than MaxDetached other calls of the Group run so; past
//     that its context is cancelled, so that clients that ask and leave
//     cannot pile up work nobody waits for.
//   - A panic in the work is recovered and re-panicked, as a *PanicError that
//     carries the value and the stack, in the goroutine of every caller still
//     waiting. When nobody waits any more the panic is dropped: a background
//     computation never crashes the process.
//
// A Group's zero value is ready to use. A Group is safe for concurrent use and
// must not be copied after first use.
package flight

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// ErrGoexit is the error the waiting callers get when the work called
// runtime.Goexit (testing.T.FailNow does) instead of returning.
var ErrGoexit = errors.New("flight: work called runtime.Goexit")

// PanicError is what a caller panics with when the work it waited for
// panicked. It is safe to read from any goroutine.
type PanicError struct {
	// Value is the value the work panicked with.
	Value any
	// Stack is the stack of the goroutine that panicked, at the panic.
	Stack []byte
}

// Error returns the panic value and the stack of the panicking goroutine.
func (p *PanicError) Error() string {
	return fmt.Sprintf("flight: panic in shared work: %v\n\n%s", p.Value, p.Stack)
}

// Unwrap returns the panic value if it is an error, so that errors.Is and
// errors.As see through a re-panicked error (http.ErrAbortHandler, for one).
func (p *PanicError) Unwrap() error {
	err, _ := p.Value.(error)
	return err
}

// call is one execution of the work, shared by every caller of its key that
// arrived while it ran.
type call[V any] struct {
	done  chan struct{} // closed when val, err and panicErr are set
	val   V
	err   error
	panic *PanicError

	// Guarded by the Group's mu.
	waiters  int                // callers waiting for it
	detached bool               // runs on with no caller: counted in Group.detached
	over     bool               // finished: done is closed or about to be
	cancel   context.CancelFunc // cancels the work's context
	started  int64              // the Group's Stamp when it began (0 without one)
	began    time.Time          // when it began, by the real clock (for DoBounded)
	next     *call[V]           // the call that took its place, overdue (DoBounded)
}

// MaxDetached is how many calls of one Group may run on with no caller
// waiting for them; the work of one more caller-less call is cancelled.
const MaxDetached = 64

// Group runs work for keys of type K that produces values of type V, once per
// key at a time. Its zero value is ready to use; it is safe for concurrent
// use and must not be copied after first use.
type Group[K comparable, V any] struct {
	// Stamp, if set before first use, stamps each call that Do starts
	// with the time it began (as Stamp counts it), for StartedBefore.
	Stamp func() int64

	mu       sync.Mutex
	calls    map[K]*call[V]
	detached int // calls running on with no caller waiting
	// running counts the calls not finished, forgotten ones included
	// (changed with mu held): a Forget when none runs takes no lock.
	running atomic.Int64
}

// join returns the call in flight for key, creating it if there is none,
// with the context its work is to run with (ctx's values only). leader
// reports whether the caller created it and so must start the work;
// onLead, if not nil, is called then, before join returns (see DoLeading).
func (g *Group[K, V]) join(ctx context.Context, key K, lead bool, onLead func()) (c *call[V], wctx context.Context, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok && !lead {
		g.waitFor(c)
		return c, nil, false
	}
	c, wctx = g.newCall(ctx, key)
	if onLead != nil {
		onLead()
	}
	return c, wctx, true
}

// waitFor counts one more waiter of c, a call of g (one that has ended,
// which finish no longer counts as detached, too). The caller holds mu.
func (g *Group[K, V]) waitFor(c *call[V]) {
	c.waiters++
	if c.detached && !c.over {
		// Waited for again: no longer counted as running on with no
		// caller (a second leave would count it twice).
		c.detached = false
		g.detached--
	}
}

// newCall makes a call of key, which the calls that come after it join,
// and returns it with the context its work is to run with. The caller
// holds mu.
func (g *Group[K, V]) newCall(ctx context.Context, key K) (c *call[V], wctx context.Context) {
	if g.calls == nil {
		g.calls = make(map[K]*call[V])
	}
	c = &call[V]{done: make(chan struct{}), waiters: 1, began: time.Now()}
	if g.Stamp != nil {
		c.started = g.Stamp()
	}
	wctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.calls[key] = c
	g.running.Add(1)
	return c, wctx
}

// leave is a caller of c giving up before c finished. The last one to
// leave lets the work run on (detached) while fewer than MaxDetached calls
// of g do, else cancels it and forgets c, so that the next caller of key
// starts new work rather than join a cancelled one.
func (g *Group[K, V]) leave(key K, c *call[V]) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.leaveLocked(key, c)
}

// leaveLocked is leave for a caller that holds mu.
func (g *Group[K, V]) leaveLocked(key K, c *call[V]) {
	if c.waiters--; c.waiters > 0 || c.over {
		return
	}
	if g.detached < MaxDetached {
		g.detached++
		c.detached = true
		return
	}
	c.cancel()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
}

// finish removes c from the group (unless Forget already did, or a newer call
// took its place) and releases its waiters.
func (g *Group[K, V]) finish(key K, c *call[V]) {
	g.mu.Lock()
	if g.calls[key] == c {
		delete(g.calls, key)
	}
	c.over = true
	if c.detached {
		g.detached--
	}
	g.running.Add(-1)
	g.mu.Unlock()
	c.cancel()
	close(c.done)
}

// Do runs fn once for all the concurrent calls with key and returns its
// result to each of them. joined reports whether the caller joined work that
// another caller started (and so did not start any itself).
//
// fn runs in a goroutine of its own, with a context that keeps the first
// caller's values, but neither its deadline nor its cancellation, so fn
// bounds its own time if it must. A caller whose ctx is done returns the
// zero V and ctx.Err() at once, without waiting for fn, which goes on for
// the others; when none is left, it goes on only within MaxDetached (see
// the package doc), else its context is cancelled.
//
// If fn panics, every caller still waiting panics with a *PanicError; if none
// waits, the panic is dropped. If fn calls runtime.Goexit, the callers get
// ErrGoexit.
func (g *Group[K, V]) Do(ctx context.Context, key K, fn func(context.Context) (V, error)) (v V, joined bool, err error) {
	return g.DoLeading(ctx, key, fn, nil)
}

// DoLeading is Do, which calls onLead, if not nil, if the caller starts
// the work rather than join a call in flight: holding the Group's lock, at
// the moment the caller becomes the call's leader, before fn runs (onLead
// must not call g). A caller that records that it may still join another
// call drops the record there, with no window in which it leads already
// but seems not to.
func (g *Group[K, V]) DoLeading(ctx context.Context, key K, fn func(context.Context) (V, error), onLead func()) (v V, joined bool, err error) {
	if err := ctx.Err(); err != nil {
		return v, false, err
	}
	c, wctx, leader := g.join(ctx, key, false, onLead)
	if leader {
		go g.run(wctx, key, c, fn)
	}
	return g.wait(ctx, key, c, !leader)
}

// Lead is Do for a caller that joins no call in flight: it starts new work
// for key, which the calls that come after it join, as Forget followed by
// Do would, with no call started in between for it to join. The call it
// takes the place of goes on for its own callers.
func (g *Group[K, V]) Lead(ctx context.Context, key K, fn func(context.Context) (V, error)) (V, error) {
	if err := ctx.Err(); err != nil {
		var v V
		return v, err
	}
	c, wctx, _ := g.join(ctx, key, true, nil)
	go g.run(wctx, key, c, fn)
	v, _, err := g.wait(ctx, key, c, false)
	return v, err
}

// DoAlone runs fn as Do does (in a goroutine of its own, on a context
// with ctx's values but not its deadline or cancellation; the caller
// returns ctx.Err() as soon as ctx is done, while fn goes on within
// MaxDetached; a panic re-panicked as a *PanicError), for this caller
// alone: no other call joins it. Forget does not reach it.
func (g *Group[K, V]) DoAlone(ctx context.Context, fn func(context.Context) (V, error)) (V, error) {
	var key K // c is never in g.calls: finish and leave find another call, or none, under it
	if err := ctx.Err(); err != nil {
		var v V
		return v, err
	}
	c := &call[V]{done: make(chan struct{}), waiters: 1}
	var wctx context.Context
	wctx, c.cancel = context.WithCancel(context.WithoutCancel(ctx))
	g.running.Add(1)
	go g.run(wctx, key, c, fn)
	v, _, err := g.wait(ctx, key, c, false)
	return v, err
}

// run executes fn for c in the current goroutine, recording its result, its
// panic or its Goexit, and then releases c's waiters.
func (g *Group[K, V]) run(ctx context.Context, key K, c *call[V], fn func(context.Context) (V, error)) {
	returned := false
	defer func() {
		if !returned {
			if r := recover(); r != nil {
				c.panic = &PanicError{Value: r, Stack: debug.Stack()}
			} else {
				c.err = ErrGoexit
			}
		}
		g.finish(key, c)
	}()
	c.val, c.err = fn(ctx)
	returned = true
}

// wait waits for c or for ctx, whichever comes first. joined is passed
// through to the caller.
func (g *Group[K, V]) wait(ctx context.Context, key K, c *call[V], joined bool) (v V, _ bool, err error) {
	v, err, _ = g.waitUntil(ctx, key, c, nil)
	return v, joined, err
}

// waitUntil is wait, which also ends when expired delivers (nil: never)
// while c has not finished: overdue reports it, and the caller is still
// one of c's waiters.
func (g *Group[K, V]) waitUntil(ctx context.Context, key K, c *call[V], expired <-chan time.Time) (v V, err error, overdue bool) {
	select {
	case <-c.done:
	case <-ctx.Done():
		select {
		case <-c.done: // finished too: prefer the result
		default:
			g.leave(key, c)
			return v, ctx.Err(), false
		}
	case <-expired:
		select {
		case <-c.done: // finished too: prefer the result
		default:
			return v, nil, true
		}
	}
	if c.panic != nil {
		panic(c.panic)
	}
	return c.val, c.err, false
}

// expiredNow is a channel that has delivered: a call overdue already.
var expiredNow = func() <-chan time.Time {
	ch := make(chan time.Time)
	close(ch)
	return ch
}()

// DoBounded is DoLeading, where a caller that joins a call waits for it
// only until the call has run for age, measured on the real clock from
// when its leader made it (age <= 0: no bound, as DoLeading): the call is
// then overdue (a hung dependency), and the caller takes its place,
// holding the Group's lock: where the call is still key's, or no call is
// (Forget), the caller makes a new call of key that it leads, which the
// calls that come after it join, calling onTake with key (nil: none) and then
// onLead, and took reports it; where another call took key's place
// meanwhile (another of its waiters took it over, even if that call has
// ended since: its result is the caller's), the caller joins that one,
// bounded the same way. The call given up on goes on for its other
// callers, no longer key's (as after Forget); a caller that was its last
// leaves it as leave says (it runs on detached, or is cancelled). A
// caller whose ctx ends first returns ctx.Err(), as for Do.
func (g *Group[K, V]) DoBounded(ctx context.Context, key K, fn func(context.Context) (V, error), onLead func(), age time.Duration, onTake func(K)) (v V, joined, took bool, err error) {
	if age <= 0 {
		v, joined, err = g.DoLeading(ctx, key, fn, onLead)
		return v, joined, false, err
	}
	if err := ctx.Err(); err != nil {
		return v, false, false, err
	}
	c, wctx, leader := g.join(ctx, key, false, onLead)
	for !leader {
		var t *time.Timer
		expired := expiredNow
		if d := time.Until(c.began.Add(age)); d > 0 {
			t = time.NewTimer(d)
			expired = t.C
		}
		v, err, overdue := g.waitUntil(ctx, key, c, expired)
		if t != nil {
			t.Stop()
		}
		if !overdue {
			return v, true, false, err
		}
		if err := ctx.Err(); err != nil {
			g.leave(key, c)
			return v, true, false, err
		}
		c, wctx, leader = g.takeOver(ctx, key, c, onLead, onTake)
		took = leader
	}
	go g.run(wctx, key, c, fn)
	v, _, err = g.wait(ctx, key, c, false)
	return v, false, took, err
}

// takeOver is DoBounded's caller giving up on c, overdue: it returns the
// call it is to wait for next, and leader set where it made it (and is to
// run its work with wctx). c itself where c has finished meanwhile: its
// result is the caller's.
func (g *Group[K, V]) takeOver(ctx context.Context, key K, c *call[V], onLead func(), onTake func(K)) (next *call[V], wctx context.Context, leader bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c.over {
		return c, nil, false
	}
	g.leaveLocked(key, c)
	if c.next != nil {
		// Another of its waiters took it over first: that call's result
		// is this caller's, however soon it ended.
		g.waitFor(c.next)
		return c.next, nil, false
	}
	if cur, ok := g.calls[key]; ok && cur != c {
		g.waitFor(cur)
		return cur, nil, false
	}
	next, wctx = g.newCall(ctx, key)
	c.next = next
	if onTake != nil {
		onTake(key)
	}
	if onLead != nil {
		onLead()
	}
	return next, wctx, true
}

// Forget makes the next call for key start new work instead of joining the
// one in flight, whose callers still get its result. When no call of g
// runs, it costs one atomic load.
func (g *Group[K, V]) Forget(key K) {
	if g.running.Load() == 0 {
		return
	}
	g.mu.Lock()
	delete(g.calls, key)
	g.mu.Unlock()
}

// InFlight reports whether a call for key is in flight: one that a Do of
// key would join. When no call of g runs, it costs one atomic load.
func (g *Group[K, V]) InFlight(key K) bool {
	if g.running.Load() == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.calls[key]
	return ok
}

// Waiters reports how many callers wait for the call in flight for key,
// which a Do of key would join (0 when none is in flight).
func (g *Group[K, V]) Waiters(key K) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.calls[key]; ok {
		return c.waiters
	}
	return 0
}

// StartedBefore reports whether the call in flight for key, which a Do of
// key would join, began before t (by the Group's Stamp): false when none
// is in flight. When no call of g runs, it costs one atomic load.
func (g *Group[K, V]) StartedBefore(key K, t int64) bool {
	if g.running.Load() == 0 {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.calls[key]
	return ok && c.started < t
}

// ForgetAll is Forget for every key in flight.
func (g *Group[K, V]) ForgetAll() {
	if g.running.Load() == 0 {
		return
	}
	g.mu.Lock()
	clear(g.calls)
	g.mu.Unlock()
}
