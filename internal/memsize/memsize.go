// Package memsize estimates the heap memory a Go value holds, so that an
// in-process cache can count a stored value against its byte bound without
// encoding it.
//
// Measure (and Of) walks the value with reflect, unexported fields
// included: the bytes of strings, the backing arrays of slices (their
// capacity), maps (entries and an estimate of their tables), and what
// pointers and interfaces point to. It does not count what channels,
// functions and unsafe pointers reach, nor memory shared with values it is
// not given. The estimate is within a small factor of what runtime.MemStats
// sees for the values caches hold (structs, slices of structs, maps of
// strings); see the package's tests.
//
// The rules that bound the walk, so that measuring a value never costs
// much, whatever its shape or size:
//
//   - No recursion: the walk keeps its own stacks, so that no depth of
//     pointers (a linked list of millions of nodes) can overflow the
//     goroutine's stack.
//   - A budget: one walk visits at most walkBudget values (elements,
//     fields, pointers, every one; the strings of a collection of strings
//     are leaves, read in a loop at one value per stringsPerStep of them).
//   - Exact first: a walk visits every element of every collection, of
//     any length, so that nothing makes a value it can measure within the
//     budget (a small slice holding a tree and a 64 MiB buffer, a slice of
//     a thousand short strings and one of 32 MiB) seem smaller than it
//     is. Only a value that needs more than the budget so is walked
//     again, sampling as follows.
//   - Sampling within the budget, for a value the exact walk could not
//     finish: half of the budget is shared out over the value, each part
//     getting a share of what is left: a struct's fields take turns, and the
//     elements of a slice, array or map share what is left of its share
//     evenly, so that what one does not use passes to the next. A collection
//     that can hold references walks its elements, in an order that spreads
//     those walked evenly over it (for a map, the order of an iteration,
//     which starts at random), until it has walked all of them, or
//     sampleSize of them, or the next one would likely overrun its share (it
//     walks one at least), and extrapolates what those it walked hold to all
//     of its elements. So a collection of collections (a 600×600 [][]*T, a
//     map of slices of structs) is sampled at each level and measured. A
//     collection's own memory (its backing array, its table) is always
//     counted exactly. Past the budget, sampling assumes a collection's
//     elements alike: a few elements much larger than the others can be
//     missed, the more so the fewer are walked (deeply nested collections
//     walk fewer).
//   - What is not a collection is not sampled: a value that needs more
//     than the budget (a linked structure of a few ten thousand nodes or
//     more) is too big to measure: Measure reports false, and Of returns
//     what it had counted when it stopped, less than the value holds. A
//     cache should not keep in memory a value it cannot measure.
//   - Aliases: each object is counted once, remembered by its address and
//     the extent counted there; a larger extent seen later at the same
//     address (a slice of the whole buffer after a slice of its first
//     bytes, a struct after a pointer to its first field) counts what it
//     adds. An object can be counted more than once (a pointer into the
//     middle of an array counted before), never less.
//
// What the walk needs to know about a type (whether its values can reach
// heap memory at all; for a struct, which fields can) is worked out once
// per type and kept (see plan). The program's own types (named types,
// interfaces, pointers to and slices of them, and the types they hold:
// see ownType) are always kept, as there are as many as the program
// declares; other types, which a program can make at run time without end
// (reflect.StructOf, ArrayOf, MapOf), up to maxPlans of them: past them, a
// new one's is worked out again for each value measured that holds it,
// once per walk. A value whose type
// holds no references (a struct of scalars, a []int64, a [N]float64) is
// counted by its size without a walk, and a struct's fields that hold none
// are never visited, so a walk's cost follows the references a value
// holds, not its fields.
//
// What reflection cannot see is not counted: a map keeps the table it grew
// to when entries are deleted, so a map that held many entries and holds
// few now is counted as a map of few entries.
//
// It is safe for concurrent use, provided no one modifies the value while
// it is walked.
package memsize

import (
	"math/bits"
	"reflect"
	"sync"
	"unsafe"
)

// mapBytes estimates the memory of a map of n entries of slot bytes each:
// Go's swiss tables hold slots in groups of eight with a control byte each,
// at most 7/8 full, in a power of two of slots; a small map has one group.
func mapBytes(n, slot int) int {
	slots := 8
	for slots*7/8 < n {
		slots *= 2
	}
	return 48 + slots*(slot+1)
}

const (
	// sampleSize is the most elements of one collection that a sampling
	// walk visits; an exact walk visits all.
	sampleSize = 1 << 10
	// walkBudget is the most values one walk visits, so that measuring a
	// value is bounded: tens of milliseconds at most (a walk of the
	// whole budget through maps and pointers; 10,000 products of a few
	// fields and a map each take about 10-30 ms on a 2-core VM). An exact
	// walk that cannot finish within it gives up when it meets a
	// collection whose elements alone need more (see plan.elemSteps), before
	// spending it.
	walkBudget = 1 << 18
	// maxDepth is the most visits nested in one another on the goroutine's
	// stack; deeper values wait on the walker's own stacks.
	maxDepth = 32
	// planned is the part of walkBudget shared out among a value's
	// collections; the rest is a margin for the values that cost more than
	// their share (one element of each collection is walked whatever its
	// share, and what is not a collection is not sampled).
	planned = walkBudget / 2
	// stringsPerStep is how many strings of one collection cost the budget
	// one value (see walker.strings).
	stringsPerStep = 16
)

// Of returns the estimated heap bytes held by v, including v itself as it is
// stored in an interface (a value that is not a pointer is boxed). For a
// value too big to measure (see Measure) it is what was counted before the
// walk stopped, an underestimate.
func Of(v any) int {
	n, _ := Measure(v)
	return n
}

// Measure returns the estimated heap bytes held by v, as Of does, and
// whether v could be measured: false when the walk ran out of its budget
// of values before reaching all of v (see the package doc), and n is then
// less than v holds.
func Measure(v any) (n int, ok bool) {
	if v == nil {
		return 0, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.String {
		return int(rv.Type().Size()) + rv.Len(), true // the box, and the bytes
	}
	p := planOf(rv.Type(), nil)
	if p.boxed {
		n = int(p.size) // the box an interface holds it in
	}
	if !p.refs {
		return n, true
	}
	w := walkers.Get().(*walker)
	w.exact = true
	if ok = w.walkPlan(rv, p); !ok {
		// Too big to walk exactly: again, sharing the budget out.
		w.reset()
		ok = w.walkPlan(rv, p)
	}
	n += int(w.total)
	w.reset()
	w.forgetPlans()
	walkers.Put(w)
	return n, ok
}

// walkers keeps walkers, their stacks and their map of the objects
// counted, from one walk of a small value to the next.
var walkers = sync.Pool{New: func() any { return new(walker) }}

// maxKept is the most objects, or values on one of its stacks, that a
// walker kept for another walk remembers room for: a walker that needed
// more for a large value lets its room go.
const maxKept = 256

// reset makes w ready for another walk: it holds no references to the
// value it walked (popped entries of its stacks are cleared as they go).
func (w *walker) reset() {
	w.seen.reset()
	clear(w.pending)
	clear(w.frames)
	w.pending, w.frames = w.pending[:0], w.frames[:0]
	if cap(w.pending) > maxKept {
		w.pending = nil
	}
	if cap(w.frames) > maxKept {
		w.frames = nil
	}
	if w.str.IsValid() {
		w.str.SetZero() // the last string read: not kept alive by the pool
	}
	w.depth, w.steps, w.total, w.exact = 0, 0, 0, false
}

// walker walks a value depth first: nested in one another on the
// goroutine's stack up to maxDepth, which is fast, and beyond on stacks of
// its own, which no depth of the value can overflow: the values left to
// visit, and the collections being walked.
//
// Each value is walked with a deadline: the count of steps by which its
// walk should be done, its share of the budget. A struct's fields share
// its time in turns, and a collection's elements share what is left of
// its time evenly, so that time one does not use passes to the next; a
// collection stops walking its elements when the next one would likely
// overrun its deadline, and once what the elements it walked reach is
// counted, scales it to all of its elements. Deadlines only decide how
// much collections sample: a value that is not a collection (a long chain
// of pointers) is walked whole, up to walkBudget.
type walker struct {
	seen    extents   // objects counted: the extent counted at each address
	pending []pending // values left to visit, beyond maxDepth
	frames  []frame   // collections being walked beyond maxDepth, innermost last
	depth   int       // visits nested in the current one
	steps   int       // values pushed so far, against walkBudget
	total   float64   // bytes counted, scaled
	// exact: walk every element of every collection, whatever the
	// deadlines say.
	exact bool
	// iters are map iterators done with, kept for the next map's walk
	// (MapRange allocates one), at most maxDepth; they refer to nothing.
	iters []*reflect.MapIter
	// strT and str: a settable value of string type strT that a map's
	// string keys and values of that type are read into, one after the
	// other (MapIter.Key and Value allocate a copy of each): a string is
	// a leaf, which push counts and never keeps, so one value serves every
	// map of the walk.
	strT reflect.Type
	str  reflect.Value
	// plan is the plan the walker looked up last (see walker.planOf).
	plan *plan
	// made holds the plans the walk worked out, so that past maxPlans,
	// where those of types not of the program's own are not kept, it
	// works out each type's at most once.
	made map[reflect.Type]*plan
}

// forgetPlans lets go of the plans w made during a Measure (see
// walker.made), whose types another value may not hold.
func (w *walker) forgetPlans() {
	if len(w.made) > maxKept {
		w.made = nil
	} else {
		clear(w.made)
	}
}

// pending is a value left to visit, and its deadline.
type pending struct {
	v   reflect.Value
	p   *plan
	end int
}

// frame is a slice, array or map whose elements are being walked.
type frame struct {
	v          reflect.Value
	p          *plan            // v's plan
	it         *reflect.MapIter // a map's entries
	base       float64          // total when the frame began
	mark       int              // len(pending) when the frame began
	start      int              // steps when the frame began
	end        int              // its deadline
	n          int              // elements in all
	walked     int              // elements walked
	next       uint64           // a slice's or array's next position in the visit order
	shift      uint8            // 64 less the bits of a position in the visit order
	keys, vals bool             // whether a map's keys, and its values, hold references
}

// walk counts what v reaches, not counting v's own inline size, and
// reports whether it reached all of it within the budget.
func (w *walker) walk(v reflect.Value) bool {
	return w.walkPlan(v, w.planOf(v.Type()))
}

// walkPlan is walk for v of plan p.
func (w *walker) walkPlan(v reflect.Value, p *plan) bool {
	return !p.refs || w.push(v, p, planned) && w.drain(0, 0)
}

// push takes v, of plan p, with deadline end, for a visit, against the
// budget: a string is counted at once, a nil reference is done with, and
// so is a pointer, whose target is taken in its place, if it points to
// something not counted before; push reports false when the budget is
// spent. v is of a type that can hold references (p.refs).
func (w *walker) push(v reflect.Value, p *plan, end int) bool {
	for {
		if w.steps++; w.steps > walkBudget {
			return false
		}
		switch p.kind {
		case reflect.String:
			w.total += float64(v.Len())
			return true
		case reflect.Pointer:
			if v.IsNil() {
				return true
			}
			add := w.first(v.Pointer(), p.elem.size)
			if add == 0 {
				return true
			}
			w.total += float64(add)
			if !p.elem.refs {
				return true
			}
			v, p = v.Elem(), p.elem
			continue
		case reflect.Slice, reflect.Map, reflect.Interface:
			if v.IsNil() {
				return true
			}
		}
		if w.depth < maxDepth {
			w.depth++
			ok := w.visit(v, p, end)
			w.depth--
			return ok
		}
		w.pending = append(w.pending, pending{v, p, end})
		return true
	}
}

// drain visits what waits on the walker's stacks above the heights p and
// fr, which pushes made beyond maxDepth, and reports false when the budget
// is spent.
func (w *walker) drain(p, fr int) bool {
	if len(w.pending) == p && len(w.frames) == fr {
		return true
	}
	depth := w.depth
	w.depth = maxDepth // what these visits push waits here too
	for {
		mark := p
		if len(w.frames) > fr {
			mark = w.frames[len(w.frames)-1].mark
		}
		if n := len(w.pending); n > mark {
			v := w.pending[n-1]
			w.pending[n-1] = pending{}
			w.pending = w.pending[:n-1]
			if !w.visit(v.v, v.p, v.end) {
				return false
			}
			continue
		}
		if len(w.frames) == fr {
			break
		}
		f := &w.frames[len(w.frames)-1]
		more, ok := w.next(f)
		if !ok {
			return false
		}
		if !more {
			w.finish(f)
			*f = frame{}
			w.frames = w.frames[:len(w.frames)-1]
		}
	}
	w.depth = depth
	return true
}

// visit counts what v, a slice, array, map, interface or struct of plan
// p, holds itself and pushes what it refers to, with deadline end; it
// reports false when the budget is spent.
func (w *walker) visit(v reflect.Value, p *plan, end int) bool {
	switch p.kind {
	case reflect.Slice:
		add := w.first(v.Pointer(), uintptr(v.Cap())*p.elem.size)
		if add == 0 {
			return true
		}
		w.total += float64(add)
		if p.elem.refs {
			return w.collection(v, p, end)
		}
	case reflect.Array:
		return w.collection(v, p, end)
	case reflect.Map:
		if w.first(v.Pointer(), 1) == 0 {
			return true
		}
		w.total += float64(mapBytes(v.Len(), int(p.key.size)+int(p.elem.size)))
		if p.key.refs || p.elem.refs {
			return w.collection(v, p, end)
		}
	case reflect.Interface:
		e := v.Elem()
		ep := w.planOf(e.Type())
		if ep.boxed {
			w.total += float64(ep.size) // its box
		}
		if ep.refs {
			return w.push(e, ep, end)
		}
	case reflect.Struct:
		// The fields are visited first to last within maxDepth, and last
		// to first beyond it (pushed on a stack first to last): each has
		// a turn of the struct's time in the order they are visited in.
		// Only those that hold references are visited (p.fields), and
		// each takes the turn its place among all of them gives it.
		nf, now, stacked := p.n, w.steps, w.depth >= maxDepth
		for _, f := range p.fields {
			turn := f.index + 1
			if stacked {
				turn = nf - f.index
			}
			if !w.push(v.Field(f.index), f.plan, now+(end-now)*turn/nf) {
				return false
			}
		}
	}
	return true
}

// collection walks the elements of the slice, array or map v of plan p
// (whose elements, or a map's keys or values, hold references), with
// deadline end, and reports false when the budget is spent: the strings of
// a slice or array of strings at once (see strings), other elements one by
// one (see next), here within maxDepth, and beyond it from the walker's
// stack of frames (see drain).
func (w *walker) collection(v reflect.Value, p *plan, end int) bool {
	n := v.Len()
	f := frame{v: v, p: p, base: w.total, mark: len(w.pending), start: w.steps, end: end, n: n}
	if p.kind == reflect.Map {
		f.keys, f.vals = p.key.refs, p.elem.refs
		f.it = w.iter(v)
	} else {
		if p.elem.kind == reflect.String {
			return w.strings(v, end)
		}
		f.shift = uint8(64 - bits.Len(uint(n-1)))
	}
	if w.exact && w.steps+n*p.elemSteps() > walkBudget {
		// The exact walk cannot finish: give up at once, rather than
		// spend the budget learning it, for sampling to take over.
		return false
	}
	if w.depth >= maxDepth {
		w.frames = append(w.frames, f)
		return true
	}
	pe, fr := len(w.pending), len(w.frames)
	for {
		more, ok := w.next(&f)
		if !ok || !w.drain(pe, fr) {
			return false
		}
		if !more {
			w.finish(&f)
			return true
		}
	}
}

// next pushes the next element of the collection f, and reports whether
// there was one (more) and whether the budget was not spent (ok). There is
// none when f has walked all of its elements; sampling, also when it has
// walked sampleSize of them, or when the next one would likely overrun its
// deadline, reckoning from what those walked cost (one is always walked).
// A slice's or array's elements are walked first to last in an exact walk
// (in the order of memory, which is faster), and sampling, in bit-reversed
// order of their positions, so that those walked are spread evenly over it
// wherever the walk stops; a map's in the order of an iteration, which
// starts at random.
func (w *walker) next(f *frame) (more, ok bool) {
	k := f.n
	if !w.exact {
		k = min(k, sampleSize)
	}
	used, time := w.steps-f.start, f.end-f.start
	if f.walked >= k || !w.exact && f.walked > 0 && used*(f.walked+1) > time*f.walked {
		return false, true
	}
	end := w.steps + max(f.end-w.steps, 0)/(k-f.walked)
	if f.it != nil {
		if !f.it.Next() {
			return false, true
		}
		f.walked++
		return true, (!f.keys || w.push(w.iterKey(f), f.p.key, end)) && (!f.vals || w.push(w.iterValue(f), f.p.elem, end))
	}
	if w.exact {
		i := f.walked
		f.walked++
		return true, w.push(f.v.Index(i), f.p.elem, end)
	}
	for ; f.next < 1<<(64-f.shift); f.next++ {
		if i := bits.Reverse64(f.next) >> f.shift; i < uint64(f.n) {
			f.next++
			f.walked++
			return true, w.push(f.v.Index(int(i)), f.p.elem, end)
		}
	}
	return false, true
}

// finish scales what the elements f walked hold to all of its elements.
// A map's iterator is kept for the next map.
func (w *walker) finish(f *frame) {
	if f.walked > 0 && f.walked < f.n {
		w.total = f.base + (w.total-f.base)*float64(f.n)/float64(f.walked)
	}
	if f.it != nil && len(w.iters) < maxDepth {
		f.it.Reset(reflect.Value{})
		w.iters = append(w.iters, f.it)
	}
	f.it = nil
}

// iter returns an iterator over the map v: one kept, or a new one.
func (w *walker) iter(v reflect.Value) *reflect.MapIter {
	if n := len(w.iters); n > 0 {
		it := w.iters[n-1]
		w.iters[n-1] = nil
		w.iters = w.iters[:n-1]
		it.Reset(v)
		return it
	}
	return v.MapRange()
}

// iterKey returns the key of the map entry f's iterator is at: a string
// read into the walker's reused value (see walker.str), anything else as
// MapIter.Key gives it. SetIterKey panics on a map reached through an
// unexported field, which MapIter.Key reads: such a map's keys are read
// that way.
func (w *walker) iterKey(f *frame) reflect.Value {
	if t := f.p.key; t.kind == reflect.String && f.v.CanInterface() {
		s := w.strOf(t.t)
		s.SetIterKey(f.it)
		return s
	}
	return f.it.Key()
}

// iterValue is iterKey for the entry's value.
func (w *walker) iterValue(f *frame) reflect.Value {
	if t := f.p.elem; t.kind == reflect.String && f.v.CanInterface() {
		s := w.strOf(t.t)
		s.SetIterValue(f.it)
		return s
	}
	return f.it.Value()
}

// strOf returns the walker's settable value of the string type t, made
// when the last one was of another type.
func (w *walker) strOf(t reflect.Type) reflect.Value {
	if w.strT != t {
		w.strT, w.str = t, reflect.New(t).Elem()
	}
	return w.str
}

// strings counts the bytes of the strings of the slice or array v, with
// deadline end, at stringsPerStep strings a step: all of them in an exact
// walk; sampling, as many as its time allows (sampleSize at most, spread
// evenly), scaled to all. They are leaves, read in a loop rather than
// visited one by one, so that a value of many string collections (a
// [][]string of 600×600) is measured, where visiting each string used up
// the budget.
func (w *walker) strings(v reflect.Value, end int) bool {
	n := v.Len()
	k := n
	if !w.exact {
		k = min(k, sampleSize, max(end-w.steps, 1)*stringsPerStep)
	}
	if w.steps += (k + stringsPerStep - 1) / stringsPerStep; w.steps > walkBudget {
		return false
	}
	sum := 0
	if v.Kind() == reflect.Slice {
		// Its elements are strings' headers whatever the string type's
		// name: read in place, a string costs a nanosecond or two, where
		// reflect costs tens.
		s := unsafe.Slice((*string)(v.UnsafePointer()), n)
		if k == n {
			for _, e := range s {
				sum += len(e)
			}
		} else {
			for j := range k {
				sum += len(s[j*n/k])
			}
		}
	} else {
		for j := range k {
			sum += v.Index(j * n / k).Len()
		}
	}
	w.total += float64(n) / float64(max(k, 1)) * float64(sum)
	return true
}

// first records that the object at p is counted with the given extent, and
// returns the bytes that adds to what was counted at p before: 0 when an
// extent at least as large was.
func (w *walker) first(p, extent uintptr) uintptr {
	had := w.seen.swapMax(p, extent)
	if had >= extent {
		return 0
	}
	return extent - had
}

// extents maps addresses to the extents counted there: a hash table of
// its own, open addressing with linear probing, at most half full, which
// finds and updates an address in one probe sequence where a Go map takes
// a lookup and an assignment (most of a walk's time went to them). The
// address 0 marks an empty slot; no object counted lives there.
type extents struct {
	slots []extent
	n     int // addresses held
}

type extent struct{ addr, size uintptr }

// swapMax records max(size, the extent held for addr) for addr, and
// returns the extent held before (0 if none).
func (e *extents) swapMax(addr, size uintptr) uintptr {
	if 2*(e.n+1) > len(e.slots) {
		e.grow()
	}
	mask := uintptr(len(e.slots) - 1)
	for i := hashAddr(addr) & mask; ; i = (i + 1) & mask {
		s := &e.slots[i]
		switch s.addr {
		case addr:
			had := s.size
			s.size = max(had, size)
			return had
		case 0:
			s.addr, s.size = addr, size
			e.n++
			return 0
		}
	}
}

// grow doubles the table (64 slots at first) and re-inserts what it holds.
func (e *extents) grow() {
	old := e.slots
	e.slots = make([]extent, max(2*len(old), 64))
	mask := uintptr(len(e.slots) - 1)
	for _, s := range old {
		if s.addr == 0 {
			continue
		}
		i := hashAddr(s.addr) & mask
		for e.slots[i].addr != 0 {
			i = (i + 1) & mask
		}
		e.slots[i] = s
	}
}

// reset empties the table, keeping its room when it is small.
func (e *extents) reset() {
	if len(e.slots) > 2*maxKept {
		e.slots = nil
	} else {
		clear(e.slots)
	}
	e.n = 0
}

// hashAddr spreads an address's bits (Fibonacci hashing): objects are
// aligned, so the low bits alone would collide.
func hashAddr(a uintptr) uintptr {
	return uintptr(uint64(a) * 0x9e3779b97f4a7c15 >> 32)
}
