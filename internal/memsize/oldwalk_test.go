package memsize

// This file keeps the walk as it was before per-type plans (walk.go's
// plan), for TestPlanSameEstimates to compare the two on a corpus of
// shapes: the plans change what a walk costs, never what it counts.

import (
	"math/bits"
	"reflect"
	"sync"
	"unsafe"
)

// oldMeasure returns the estimated heap bytes held by v, as Of does, and
// whether v could be measured: false when the walk ran out of its budget
// of values before reaching all of v (see the package doc), and n is then
// less than v holds.
func oldMeasure(v any) (n int, ok bool) {
	if v == nil {
		return 0, true
	}
	rv := reflect.ValueOf(v)
	if !isPointerShaped(rv.Type()) {
		n = int(rv.Type().Size()) // the box an interface holds it in
	}
	switch t := rv.Type(); {
	case t.Kind() == reflect.String:
		return n + rv.Len(), true
	case !oldHasRefs(t):
		return n, true
	}
	w := oldWalkers.Get().(*oldWalker)
	w.exact = true
	if ok = w.walk(rv); !ok {
		// Too big to walk exactly: again, sharing the budget out.
		w.reset()
		ok = w.walk(rv)
	}
	n += int(w.total)
	w.reset()
	oldWalkers.Put(w)
	return n, ok
}

// oldWalkers keeps oldWalkers, their stacks and their map of the objects
// counted, from one walk of a small value to the next.
var oldWalkers = sync.Pool{New: func() any { return new(oldWalker) }}

// reset makes w ready for another walk: it holds no references to the
// value it walked (popped entries of its stacks are cleared as they go).
func (w *oldWalker) reset() {
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

// oldWalker walks a value depth first: nested in one another on the
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
type oldWalker struct {
	seen    extents      // objects counted: the extent counted at each address
	pending []oldPending // values left to visit, beyond maxDepth
	frames  []oldFrame   // collections being walked beyond maxDepth, innermost last
	depth   int          // visits nested in the current one
	steps   int          // values pushed so far, against walkBudget
	total   float64      // bytes counted, scaled
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
}

// oldPending is a value left to visit, and its deadline.
type oldPending struct {
	v   reflect.Value
	end int
}

// oldFrame is a slice, array or map whose elements are being walked.
type oldFrame struct {
	v          reflect.Value
	it         *reflect.MapIter // a map's entries
	base       float64          // total when the oldFrame began
	mark       int              // len(oldPending) when the oldFrame began
	start      int              // steps when the oldFrame began
	end        int              // its deadline
	n          int              // elements in all
	walked     int              // elements walked
	next       uint64           // a slice's or array's next position in the visit order
	shift      uint8            // 64 less the bits of a position in the visit order
	keys, vals bool             // whether a map's keys, and its values, hold references
}

// walk counts what v reaches, not counting v's own inline size, and
// reports whether it reached all of it within the budget.
func (w *oldWalker) walk(v reflect.Value) bool {
	return !oldHasRefs(v.Type()) || w.push(v, planned) && w.drain(0, 0)
}

// push takes v, with deadline end, for a visit, against the budget: a
// string is counted at once, a nil reference is done with, and so is a
// pointer, whose target is taken in its place, if it points to something
// not counted before; push reports false when the budget is spent. v is of
// a type that can hold references (oldHasRefs).
func (w *oldWalker) push(v reflect.Value, end int) bool {
	for {
		if w.steps++; w.steps > walkBudget {
			return false
		}
		switch v.Kind() {
		case reflect.String:
			w.total += float64(v.Len())
			return true
		case reflect.Pointer:
			if v.IsNil() {
				return true
			}
			et := v.Type().Elem()
			add := w.first(v.Pointer(), et.Size())
			if add == 0 {
				return true
			}
			w.total += float64(add)
			if !oldHasRefs(et) {
				return true
			}
			v = v.Elem()
			continue
		case reflect.Slice, reflect.Map, reflect.Interface:
			if v.IsNil() {
				return true
			}
		}
		if w.depth < maxDepth {
			w.depth++
			ok := w.visit(v, end)
			w.depth--
			return ok
		}
		w.pending = append(w.pending, oldPending{v, end})
		return true
	}
}

// drain visits what waits on the oldWalker's stacks above the heights p and
// fr, which pushes made beyond maxDepth, and reports false when the budget
// is spent.
func (w *oldWalker) drain(p, fr int) bool {
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
			w.pending[n-1] = oldPending{}
			w.pending = w.pending[:n-1]
			if !w.visit(v.v, v.end) {
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
			*f = oldFrame{}
			w.frames = w.frames[:len(w.frames)-1]
		}
	}
	w.depth = depth
	return true
}

// visit counts what v, a slice, array, map, interface or struct, holds
// itself and pushes what it refers to, with deadline end; it reports false
// when the budget is spent.
func (w *oldWalker) visit(v reflect.Value, end int) bool {
	switch v.Kind() {
	case reflect.Slice:
		et := v.Type().Elem()
		add := w.first(v.Pointer(), uintptr(v.Cap())*et.Size())
		if add == 0 {
			return true
		}
		w.total += float64(add)
		if oldHasRefs(et) {
			return w.collection(v, end, false, false)
		}
	case reflect.Array:
		return w.collection(v, end, false, false)
	case reflect.Map:
		if w.first(v.Pointer(), 1) == 0 {
			return true
		}
		kt, vt := v.Type().Key(), v.Type().Elem()
		w.total += float64(mapBytes(v.Len(), int(kt.Size())+int(vt.Size())))
		if kr, vr := oldHasRefs(kt), oldHasRefs(vt); kr || vr {
			return w.collection(v, end, kr, vr)
		}
	case reflect.Interface:
		e := v.Elem()
		if !isPointerShaped(e.Type()) {
			w.total += float64(e.Type().Size()) // its box
		}
		if oldHasRefs(e.Type()) {
			return w.push(e, end)
		}
	case reflect.Struct:
		// The fields are visited first to last within maxDepth, and last
		// to first beyond it (pushed on a stack first to last): each has
		// a turn of the struct's time in the order they are visited in.
		nf, now, stacked := v.NumField(), w.steps, w.depth >= maxDepth
		for i := range nf {
			turn := i + 1
			if stacked {
				turn = nf - i
			}
			if f := v.Field(i); oldHasRefs(f.Type()) && !w.push(f, now+(end-now)*turn/nf) {
				return false
			}
		}
	}
	return true
}

// collection walks the elements of the slice, array or map v (whose keys,
// and values, hold references as keys and vals say), with deadline end,
// and reports false when the budget is spent: the strings of a slice or
// array of strings at once (see strings), other elements one by one (see
// next), here within maxDepth, and beyond it from the oldWalker's stack of
// frames (see drain).
func (w *oldWalker) collection(v reflect.Value, end int, keys, vals bool) bool {
	n := v.Len()
	f := oldFrame{v: v, base: w.total, mark: len(w.pending), start: w.steps, end: end, n: n, keys: keys, vals: vals}
	if v.Kind() == reflect.Map {
		f.it = w.iter(v)
	} else {
		if v.Type().Elem().Kind() == reflect.String {
			return w.strings(v, end)
		}
		f.shift = uint8(64 - bits.Len(uint(n-1)))
	}
	if w.exact && w.steps+n*oldElemSteps(v.Type(), keys, vals) > walkBudget {
		// The exact walk cannot finish: give up at once, rather than
		// spend the budget learning it, for sampling to take over.
		return false
	}
	if w.depth >= maxDepth {
		w.frames = append(w.frames, f)
		return true
	}
	p, fr := len(w.pending), len(w.frames)
	for {
		more, ok := w.next(&f)
		if !ok || !w.drain(p, fr) {
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
func (w *oldWalker) next(f *oldFrame) (more, ok bool) {
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
		return true, (!f.keys || w.push(w.iterKey(f), end)) && (!f.vals || w.push(w.iterValue(f), end))
	}
	if w.exact {
		i := f.walked
		f.walked++
		return true, w.push(f.v.Index(i), end)
	}
	for ; f.next < 1<<(64-f.shift); f.next++ {
		if i := bits.Reverse64(f.next) >> f.shift; i < uint64(f.n) {
			f.next++
			f.walked++
			return true, w.push(f.v.Index(int(i)), end)
		}
	}
	return false, true
}

// finish scales what the elements f walked hold to all of its elements.
// A map's iterator is kept for the next map.
func (w *oldWalker) finish(f *oldFrame) {
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
func (w *oldWalker) iter(v reflect.Value) *reflect.MapIter {
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
// read into the oldWalker's reused value (see oldWalker.str), anything else as
// MapIter.Key gives it. SetIterKey panics on a map reached through an
// unexported field, which MapIter.Key reads: such a map's keys are read
// that way.
func (w *oldWalker) iterKey(f *oldFrame) reflect.Value {
	if t := f.v.Type().Key(); t.Kind() == reflect.String && f.v.CanInterface() {
		s := w.strOf(t)
		s.SetIterKey(f.it)
		return s
	}
	return f.it.Key()
}

// iterValue is iterKey for the entry's value.
func (w *oldWalker) iterValue(f *oldFrame) reflect.Value {
	if t := f.v.Type().Elem(); t.Kind() == reflect.String && f.v.CanInterface() {
		s := w.strOf(t)
		s.SetIterValue(f.it)
		return s
	}
	return f.it.Value()
}

// strOf returns the oldWalker's settable value of the string type t, made
// when the last one was of another type.
func (w *oldWalker) strOf(t reflect.Type) reflect.Value {
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
func (w *oldWalker) strings(v reflect.Value, end int) bool {
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
func (w *oldWalker) first(p, extent uintptr) uintptr {
	had := w.seen.swapMax(p, extent)
	if had >= extent {
		return 0
	}
	return extent - had
}

// oldElemSteps returns the fewest steps (pushes) the walk of one element of a
// collection of type t costs, keys and values walked as keys and vals say,
// at most walkBudget+1.
func oldElemSteps(t reflect.Type, keys, vals bool) int {
	if t.Kind() != reflect.Map {
		return oldMinSteps(t.Elem())
	}
	n := 0
	if keys {
		n += oldMinSteps(t.Key())
	}
	if vals {
		n += oldMinSteps(t.Elem())
	}
	return min(n, walkBudget+1)
}

// oldMinSteps returns the fewest steps the walk of a value of type t costs
// once pushed (a nil pointer, slice, map or interface: one), at most
// walkBudget+1.
func oldMinSteps(t reflect.Type) int {
	n := 1
	switch t.Kind() {
	case reflect.Array:
		if t.Len() > 0 && oldHasRefs(t.Elem()) {
			n += min(t.Len(), walkBudget+1) * oldMinSteps(t.Elem())
		}
	case reflect.Struct:
		for i := range t.NumField() {
			if ft := t.Field(i).Type; oldHasRefs(ft) {
				n += oldMinSteps(ft)
			}
			if n > walkBudget {
				break
			}
		}
	}
	return min(n, walkBudget+1)
}

// oldHasRefs reports whether a value of type t can reach heap memory.
func oldHasRefs(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && oldHasRefs(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if oldHasRefs(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
