// Package breaker is a circuit breaker: after enough consecutive failures of
// a dependency (a cache backend that is down or too slow) it stops calling it
// for a cool-down, then lets one call through to see whether it is back.
//
// A caller asks Allow before each call; when Allow says yes, it reports the
// call's outcome with Success or Failure, and the call's Kind: a small
// number the caller chooses to tell kinds of call apart (a cache: one per
// backend operation).
//
//   - Closed (the normal state): every call is allowed. Threshold
//     consecutive failures open the breaker, and so do Threshold failures
//     of one kind with no success of that kind between them, whatever the
//     calls of other kinds do. A dependency that answers reads but fails
//     every write of large values (a backend whose Sets hang) thus opens
//     the breaker, though successes come between any two failures.
//   - Open: no call is allowed, for Cooldown.
//   - Half-open: once the cool-down is over, the next Allow lets exactly one
//     call through (the probe) and refuses the others. The probe's success
//     closes the breaker, its failure opens it for another cool-down. A probe
//     that never reports (its caller panicked, or forgot) does not wedge the
//     breaker: a Cooldown after the probe was let through, Allow lets
//     another probe through. A probe that says nothing of the dependency
//     (its caller gave up, or the dependency refused it without trying)
//     hands its turn back with Release: the next Allow lets another probe
//     through at once.
//   - A probe of another kind than the failure that last opened the
//     breaker (a read, when writes failed) says nothing of that kind: the
//     breaker it closes opens again at the first failure of that kind,
//     until a call of that kind succeeds. A dependency that fails one kind
//     of call thus costs one failed call per cool-down, not Threshold.
//
// Success and Failure report the outcome of a call Allow let through; the
// breaker tells calls apart only by their kind. A report that arrives while
// the breaker is open (from a call let through before it opened) is
// ignored; one that arrives while it is half-open counts as the probe's.
//
// On a closed breaker with no failure since the last success (none of the
// call's kind since the last success of that kind, for Success), Allow and
// Success read one atomic word and write nothing: they cost about a
// nanosecond, and contend on no cache line, at any parallelism. On an open
// breaker, Allow reads two atomic words and the clock, and takes no lock:
// only the caller that ends the cool-down, the probe, takes the mutex.
//
// A Breaker is safe for concurrent use and must not be copied after first
// use.
package breaker

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// State is the state of a Breaker.
type State uint8

// The states of a Breaker; see the package documentation.
const (
	Closed State = iota
	Open
	HalfOpen
)

// String returns "closed", "open" or "half-open".
func (s State) String() string {
	switch s {
	case Closed:
		return "closed"
	case Open:
		return "open"
	case HalfOpen:
		return "half-open"
	}
	return fmt.Sprintf("breaker.State(%d)", uint8(s))
}

// Kind tells kinds of call apart, for counting failures: each kind has its
// own count of consecutive failures, which only a success of that kind
// resets. A Kind is below MaxKinds; the caller chooses what each means.
type Kind uint8

// MaxKinds bounds the kinds of call a Breaker tells apart.
const MaxKinds = 16

// ErrOpen is an error for callers to return, or wrap, when Allow refused a
// call.
var ErrOpen = errors.New("breaker: open")

// Defaults for the zero fields of Options.
const (
	DefaultThreshold = 5
	DefaultCooldown  = time.Second
)

// Options configures a Breaker. The zero value of every field means its
// default.
type Options struct {
	// Threshold is how many consecutive failures open the breaker, of any
	// kinds, or of one kind with no success of that kind between them.
	// Default DefaultThreshold; must not be negative.
	Threshold int
	// Cooldown is how long an open breaker refuses every call before it
	// lets a probe through, and how long it waits for a probe's report
	// before it lets another one through. Default DefaultCooldown; must not
	// be negative.
	Cooldown time.Duration
	// Clock returns the current time; tests inject one. Default time.Now.
	// It is called only on the slow paths: on a failure, and by Allow
	// while the breaker is open or half-open.
	Clock func() time.Time
	// OnChange, if set, is called after each change of state, once per
	// change, with no lock held: it may call the Breaker. Calls are made in
	// the order of the changes, one at a time, from the Allow, Success or
	// Failure call that made the change or from a later one. It should
	// return quickly: the caller it runs in waits for it.
	OnChange func(from, to State)
}

// fast is the word Allow and Success read first. It is written only under
// the mutex and mirrors the state: fastTripped means open or half-open;
// without it, the breaker is closed, fastFailing is set while calls have
// failed since the last success, and failing(k) while calls of kind k have
// failed since the last success of that kind.
const (
	fastFailing uint32 = 1 << (MaxKinds + iota)
	fastTripped
)

// failing is the bit of fast set while calls of kind k are failing.
func failing(k Kind) uint32 { return 1 << k }

// Breaker is a circuit breaker; see the package documentation. Create one
// with New.
type Breaker struct {
	fast atomic.Uint32
	// gate is the end of the cool-down while open, and of the probe's lease
	// while half-open. Allow reads it without the lock; it is stored under
	// the lock, or swapped without it by the caller that ends the cool-down
	// and so becomes the probe (a new pointer each time: the pointer tells
	// a swap apart from a later store).
	gate atomic.Pointer[time.Time]

	threshold int
	cooldown  time.Duration
	now       func() time.Time
	onChange  func(from, to State)

	mu        sync.Mutex
	state     State
	failures  int           // consecutive failures, while closed
	kinds     [MaxKinds]int // consecutive failures of each kind, while closed
	tripped   Kind          // the kind of the failure that last opened the breaker
	pending   []change      // changes not yet passed to onChange
	notifying bool          // a goroutine is calling onChange
}

type change struct{ from, to State }

// New returns a closed Breaker, or an error naming the option that is out of
// range.
func New(opts Options) (*Breaker, error) {
	switch {
	case opts.Threshold < 0:
		return nil, fmt.Errorf("breaker: Options.Threshold is %d; want > 0, or 0 for the default (%d)", opts.Threshold, DefaultThreshold)
	case opts.Cooldown < 0:
		return nil, fmt.Errorf("breaker: Options.Cooldown is %v; want > 0, or 0 for the default (%v)", opts.Cooldown, DefaultCooldown)
	}
	b := &Breaker{
		threshold: opts.Threshold,
		cooldown:  opts.Cooldown,
		now:       opts.Clock,
		onChange:  opts.OnChange,
	}
	if b.threshold == 0 {
		b.threshold = DefaultThreshold
	}
	if b.cooldown == 0 {
		b.cooldown = DefaultCooldown
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// Must is New for program start-up: it panics on an error.
func Must(opts Options) *Breaker {
	b, err := New(opts)
	if err != nil {
		panic(err)
	}
	return b
}

// Allow reports whether a call may be made now: always while the breaker is
// closed, never while it is open and cooling down, and for exactly one
// caller (the probe) when the cool-down is over. A caller that is allowed
// reports the outcome with Success or Failure.
func (b *Breaker) Allow() bool {
	if b.fast.Load()&fastTripped == 0 {
		return true
	}
	return b.allowTripped()
}

// allowTripped is Allow on a breaker that was open or half-open when Allow
// looked. It takes no lock unless the cool-down (or the probe's lease) is
// over and the caller wins the swap of the gate that makes it the probe.
func (b *Breaker) allowTripped() bool {
	gate := b.gate.Load()
	now := b.now()
	if now.Before(*gate) {
		return false
	}
	until := now.Add(b.cooldown)
	if !b.gate.CompareAndSwap(gate, &until) {
		return false // another caller is the probe, or the breaker opened again
	}
	b.mu.Lock()
	allowed := false
	switch {
	case b.state == Closed:
		allowed = true // a report closed it since Allow looked
	case b.gate.Load() == &until:
		// Open: the cool-down is over. Half-open: the probe's lease is
		// over, with no report from it. (A gate stored since the swap
		// means a failure opened the breaker again.)
		b.setLocked(HalfOpen)
		allowed = true
	}
	b.mu.Unlock()
	b.notify()
	return allowed
}

// Success reports that a call of kind k that Allow let through succeeded:
// it resets the count of consecutive failures, and that of kind k, and
// closes a half-open breaker.
func (b *Breaker) Success(k Kind) {
	if b.fast.Load()&(fastTripped|fastFailing|failing(k)) != 0 {
		b.successSlow(k)
	}
}

func (b *Breaker) successSlow(k Kind) {
	b.mu.Lock()
	switch b.state {
	case Closed:
		b.failures, b.kinds[k] = 0, 0
		b.fast.Store(b.fast.Load() &^ (fastFailing | failing(k)))
	case HalfOpen:
		b.setLocked(Closed)
		if t := b.tripped; t != k && b.threshold > 1 {
			// The probe said nothing of the kind that failed: one more
			// failure of it opens the breaker again.
			b.kinds[t] = b.threshold - 1
			b.fast.Store(failing(t))
		}
	}
	b.mu.Unlock()
	b.notify()
}

// Release reports that a call Allow let through says nothing of the
// dependency: its caller cancelled it, or the dependency refused it at once
// without trying (a server of several known to be down). On a half-open
// breaker it hands the probe's turn back: the next Allow lets another probe
// through at once, instead of a Cooldown after this one. Otherwise it does
// nothing; on a closed breaker, it costs one atomic load.
func (b *Breaker) Release() {
	if b.fast.Load()&fastTripped == 0 {
		return
	}
	b.mu.Lock()
	if b.state == HalfOpen {
		now := b.now()
		b.gate.Store(&now) // a new pointer: a probe's swap of the old one fails
	}
	b.mu.Unlock()
}

// Failure reports that a call of kind k that Allow let through failed:
// Threshold of them in a row, or of kind k with no success of that kind
// between them, open a closed breaker, and one opens a half-open breaker
// again, for a cool-down.
func (b *Breaker) Failure(k Kind) {
	b.mu.Lock()
	switch b.state {
	case Closed:
		b.failures++
		b.kinds[k]++
		if b.failures < b.threshold && b.kinds[k] < b.threshold {
			b.fast.Store(b.fast.Load() | fastFailing | failing(k))
			break
		}
		b.openLocked(k)
	case HalfOpen:
		b.openLocked(k)
	}
	b.mu.Unlock()
	b.notify()
}

// openLocked opens the breaker for a cool-down after a failure of kind k.
// Called with b.mu held.
func (b *Breaker) openLocked(k Kind) {
	until := b.now().Add(b.cooldown)
	b.gate.Store(&until) // before fast says tripped: Allow then finds a gate
	b.tripped = k
	b.setLocked(Open)
}

// Tripped reports, at the cost of one atomic load, whether the breaker is
// open or half-open: whether Allow may refuse.
func (b *Breaker) Tripped() bool { return b.fast.Load()&fastTripped != 0 }

// State returns the breaker's state. An open breaker whose cool-down is over
// stays open until the next Allow lets a probe through.
func (b *Breaker) State() State {
	if !b.Tripped() {
		return Closed
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}

// setLocked moves the breaker to state to and queues the change for
// onChange. Called with b.mu held.
func (b *Breaker) setLocked(to State) {
	from := b.state
	if from == to {
		return
	}
	b.state = to
	b.failures, b.kinds = 0, [MaxKinds]int{}
	if to == Closed {
		b.fast.Store(0)
	} else {
		b.fast.Store(fastTripped)
	}
	if b.onChange != nil {
		b.pending = append(b.pending, change{from, to})
	}
}

// notify passes the queued changes to onChange, in order, unless another
// goroutine is doing so (it will pass these too). Called with b.mu not held.
func (b *Breaker) notify() {
	if b.onChange == nil {
		return
	}
	b.mu.Lock()
	if b.notifying {
		b.mu.Unlock()
		return
	}
	b.notifying = true
	for len(b.pending) > 0 {
		c := b.pending[0]
		b.pending = b.pending[1:]
		b.mu.Unlock()
		b.call(c)
		b.mu.Lock()
	}
	b.notifying = false
	b.mu.Unlock()
}

// call passes one change to onChange. If onChange panics, the panic goes on
// up the caller's stack, and the next caller of notify passes the changes
// still queued.
func (b *Breaker) call(c change) {
	returned := false
	defer func() {
		if !returned {
			b.mu.Lock()
			b.notifying = false
			b.mu.Unlock()
		}
	}()
	b.onChange(c.from, c.to)
	returned = true
}
