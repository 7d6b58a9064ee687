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
//   - No recursion: the walk keeps its own stack, so that no depth of
//     pointers (a linked list of millions of nodes) can overflow the
//     goroutine's stack.
//   - Sampling: of a slice, array or map of more than sampleSize elements
//     that can hold references, sampleSize elements spread evenly over it
//     are walked (for a map, the first ones of an iteration, which starts
//     at random), and what they hold is extrapolated to all of its
//     elements. A collection's own memory (its backing array, its table)
//     is always counted exactly.
//   - A budget: one walk visits at most walkBudget values (elements,
//     fields, pointers, every one; the strings of a collection of strings
//     are leaves, read in a loop at one value per stringsPerStep of them,
//     so that a [][]string of 600×600 is measured). A value that needs
//     more, even sampled
//     (a linked structure of a few ten thousand nodes or more), is too big
//     to measure: Measure reports false, and Of returns what it had
//     counted when it stopped, less than the value holds. A cache should
//     not keep in memory a value it cannot measure.
//   - Aliases: each object is counted once, remembered by its address and
//     the extent counted there; a larger extent seen later at the same
//     address (a slice of the whole buffer after a slice of its first
//     bytes, a struct after a pointer to its first field) counts what it
//     adds. An object can be counted more than once (a pointer into the
//     middle of an array counted before), never less.
//
// What reflection cannot see is not counted: a map keeps the table it grew
// to when entries are deleted, so a map that held many entries and holds
// few now is counted as a map of few entries.
//
// It is safe for concurrent use, provided no one modifies the value while
// it is walked.
package memsize

import "reflect"

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
	// sampleSize is the most elements of one collection walked; a larger
	// one is sampled.
	sampleSize = 1 << 10
	// walkBudget is the most values one walk visits, so that measuring a
	// value costs a few milliseconds at most.
	walkBudget = 1 << 18
	// maxDepth is the most visits nested in one another on the goroutine's
	// stack; deeper values wait on the walker's own stack.
	maxDepth = 32
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
	if !isPointerShaped(rv.Type()) {
		n = int(rv.Type().Size()) // the box an interface holds it in
	}
	var w walker
	ok = w.walk(rv)
	return n + int(w.total), ok
}

// walker walks a value depth first: nested in one another on the
// goroutine's stack up to maxDepth, which is fast, and beyond on its own
// stack, which no depth of the value can overflow.
type walker struct {
	seen  map[uintptr]uintptr // objects counted: the extent counted at each address
	stack []work              // values left to visit
	depth int                 // visits nested in the current one
	steps int                 // values pushed so far, against walkBudget
	total float64             // bytes counted, weighted
}

// work is a value left to visit, and the weight of what it holds: how many
// values of the whole it stands for (more than one for a sampled element).
type work struct {
	v reflect.Value
	w float64
}

// walk counts what v reaches, not counting v's own inline size, and
// reports whether it reached all of it within the budget.
func (w *walker) walk(v reflect.Value) bool {
	if !hasRefs(v.Type()) {
		return true
	}
	if !w.push(v, 1) {
		return false
	}
	for len(w.stack) > 0 {
		top := w.stack[len(w.stack)-1]
		w.stack = w.stack[:len(w.stack)-1]
		if !w.visit(top.v, top.w) {
			return false
		}
	}
	return true
}

// push takes v, of weight wt, for a visit, against the budget: a string
// is counted at once, a nil reference is done with; push reports false
// when the budget is spent. v is of a type that can hold references
// (hasRefs).
func (w *walker) push(v reflect.Value, wt float64) bool {
	if w.steps++; w.steps > walkBudget {
		return false
	}
	switch v.Kind() {
	case reflect.String:
		w.total += wt * float64(v.Len())
		return true
	case reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return true
		}
	}
	if w.depth < maxDepth {
		w.depth++
		ok := w.visit(v, wt)
		w.depth--
		return ok
	}
	w.stack = append(w.stack, work{v, wt})
	return true
}

// visit counts what v, of weight wt, holds itself and pushes what it
// refers to; it reports false when the budget is spent.
func (w *walker) visit(v reflect.Value, wt float64) bool {
	switch v.Kind() {
	case reflect.Slice:
		et := v.Type().Elem()
		add := w.first(v.Pointer(), uintptr(v.Cap())*et.Size())
		if add == 0 {
			return true
		}
		w.total += wt * float64(add)
		if hasRefs(et) {
			return w.elements(v, wt)
		}
	case reflect.Array:
		return w.elements(v, wt)
	case reflect.Map:
		if w.first(v.Pointer(), 1) == 0 {
			return true
		}
		kt, vt := v.Type().Key(), v.Type().Elem()
		n := v.Len()
		w.total += wt * float64(mapBytes(n, int(kt.Size())+int(vt.Size())))
		kr, vr := hasRefs(kt), hasRefs(vt)
		if !kr && !vr {
			return true
		}
		k := min(n, sampleSize)
		ew := wt * float64(n) / float64(max(k, 1))
		it := v.MapRange()
		for i := 0; i < k && it.Next(); i++ {
			if kr && !w.push(it.Key(), ew) || vr && !w.push(it.Value(), ew) {
				return false
			}
		}
	case reflect.Pointer:
		et := v.Type().Elem()
		add := w.first(v.Pointer(), et.Size())
		if add == 0 {
			return true
		}
		w.total += wt * float64(add)
		if hasRefs(et) {
			return w.push(v.Elem(), wt)
		}
	case reflect.Interface:
		e := v.Elem()
		if !isPointerShaped(e.Type()) {
			w.total += wt * float64(e.Type().Size()) // its box
		}
		if hasRefs(e.Type()) {
			return w.push(e, wt)
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Field(i); hasRefs(f.Type()) && !w.push(f, wt) {
				return false
			}
		}
	}
	return true
}

// elements pushes the elements of the slice or array v, of weight wt: all
// of them, or sampleSize of them spread evenly, each standing for its
// share of the others.
func (w *walker) elements(v reflect.Value, wt float64) bool {
	n := v.Len()
	if v.Type().Elem().Kind() == reflect.String {
		return w.strings(v, wt)
	}
	if n <= sampleSize {
		for i := range n {
			if !w.push(v.Index(i), wt) {
				return false
			}
		}
		return true
	}
	ew := wt * float64(n) / sampleSize
	for j := range sampleSize {
		if !w.push(v.Index(j*n/sampleSize), ew) {
			return false
		}
	}
	return true
}

// strings counts the bytes of the strings of the slice or array v, of
// weight wt, sampled as elements samples. They are leaves, read in a loop
// rather than visited one by one, and cost the budget one value per
// stringsPerStep of them: a value of many string collections (a
// [][]string of 600×600) is measured, where visiting each string used up
// the budget.
func (w *walker) strings(v reflect.Value, wt float64) bool {
	n := v.Len()
	k := min(n, sampleSize)
	if w.steps += (k + stringsPerStep - 1) / stringsPerStep; w.steps > walkBudget {
		return false
	}
	sum := 0
	for j := range k {
		sum += v.Index(j * n / k).Len()
	}
	w.total += wt * float64(n) / float64(max(k, 1)) * float64(sum)
	return true
}

// stringsPerStep is how many strings of one collection cost the budget
// one value (see walker.strings).
const stringsPerStep = 16

// first records that the object at p is counted with the given extent, and
// returns the bytes that adds to what was counted at p before: 0 when an
// extent at least as large was.
func (w *walker) first(p, extent uintptr) uintptr {
	if w.seen == nil {
		w.seen = make(map[uintptr]uintptr)
	}
	had := w.seen[p]
	if had >= extent {
		return 0
	}
	w.seen[p] = extent
	return extent - had
}

func isPointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// hasRefs reports whether a value of type t can reach heap memory.
func hasRefs(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Map, reflect.Pointer, reflect.Interface:
		return true
	case reflect.Array:
		return t.Len() > 0 && hasRefs(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if hasRefs(t.Field(i).Type) {
				return true
			}
		}
	}
	return false
}
