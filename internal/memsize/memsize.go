// Package memsize estimates the heap memory a Go value holds, so that an
// in-process cache can count a stored value against its byte bound without
// encoding it.
//
// Of walks the value with reflect, unexported fields included: the bytes of
// strings, the backing arrays of slices (their capacity), maps (entries and
// an estimate of their tables), and what pointers and interfaces point to,
// each object counted once (cycles end). It does not count what channels,
// functions and unsafe pointers reach, nor memory shared with values it
// is not given. The estimate is within a small factor of what
// runtime.MemStats sees for the values caches hold (structs, slices of
// structs, maps of strings); see the package's tests.
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

// maxWalk bounds the number of elements walked, so that a huge value cannot
// make the estimate cost more than storing it; past it, the remaining
// elements of a slice or map are assumed to hold what the walked ones held
// on average.
const maxWalk = 1 << 16

// Of returns the estimated heap bytes held by v, including v itself as it is
// stored in an interface (a value that is not a pointer is boxed).
func Of(v any) int {
	if v == nil {
		return 0
	}
	rv := reflect.ValueOf(v)
	var w walker
	n := w.value(rv)
	if !isPointerShaped(rv.Type()) {
		n += int(rv.Type().Size()) // the box an interface holds it in
	}
	return n
}

type walker struct {
	seen  map[uintptr]bool // objects pointed to, counted once
	steps int
}

func isPointerShaped(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Chan, reflect.Func, reflect.UnsafePointer:
		return true
	}
	return false
}

// value returns the heap bytes v reaches, not counting v's own inline size.
func (w *walker) value(v reflect.Value) int {
	w.steps++
	switch v.Kind() {
	case reflect.String:
		return v.Len()
	case reflect.Slice:
		if v.IsNil() || v.Cap() == 0 {
			return 0
		}
		if !w.first(v.Pointer()) {
			return 0
		}
		et := v.Type().Elem()
		n := v.Cap() * int(et.Size())
		if hasRefs(et) {
			n += w.elements(v.Len(), func(i int) int { return w.value(v.Index(i)) })
		}
		return n
	case reflect.Array:
		if !hasRefs(v.Type().Elem()) {
			return 0
		}
		return w.elements(v.Len(), func(i int) int { return w.value(v.Index(i)) })
	case reflect.Map:
		if v.IsNil() || !w.first(v.Pointer()) {
			return 0
		}
		kt, vt := v.Type().Key(), v.Type().Elem()
		n := mapBytes(v.Len(), int(kt.Size())+int(vt.Size()))
		if hasRefs(kt) || hasRefs(vt) {
			it := v.MapRange()
			n += w.elements(v.Len(), func(int) int {
				it.Next()
				return w.value(it.Key()) + w.value(it.Value())
			})
		}
		return n
	case reflect.Pointer:
		if v.IsNil() || !w.first(v.Pointer()) {
			return 0
		}
		e := v.Elem()
		return int(e.Type().Size()) + w.value(e)
	case reflect.Interface:
		if v.IsNil() {
			return 0
		}
		e := v.Elem()
		n := w.value(e)
		if !isPointerShaped(e.Type()) {
			n += int(e.Type().Size())
		}
		return n
	case reflect.Struct:
		n := 0
		for i := range v.NumField() {
			if f := v.Field(i); hasRefs(f.Type()) {
				n += w.value(f)
			}
		}
		return n
	}
	return 0
}

// elements sums size(i) for i in [0, n), walking at most what maxWalk
// leaves and extrapolating the rest from the average.
func (w *walker) elements(n int, size func(i int) int) int {
	sum, i := 0, 0
	for ; i < n && w.steps < maxWalk; i++ {
		sum += size(i)
	}
	if i < n && i > 0 {
		sum += sum / i * (n - i)
	}
	return sum
}

// first reports whether the object at p is seen for the first time.
func (w *walker) first(p uintptr) bool {
	if w.seen == nil {
		w.seen = make(map[uintptr]bool)
	}
	if w.seen[p] {
		return false
	}
	w.seen[p] = true
	return true
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
