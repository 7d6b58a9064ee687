package argkey

import (
	"reflect"
	"sync"
	"unsafe"
)

// CopierOf returns a function that copies a value of type T deeply enough
// that a change the caller makes to the original afterwards (a slice's
// element overwritten, a map or a pointed-to struct changed) does not reach
// the copy, and that reports whether the copy is complete: whether it
// shares nothing with the original that such a change could reach. It
// returns nil when T holds no references (numbers, strings, structs and
// arrays of them), whose values Go already copies on assignment.
//
// The copy follows pointers, slices, maps, interfaces, arrays and the
// exported fields of structs. It shares with the original, and reports
// incomplete, what it cannot copy safely:
//
//   - a struct's unexported fields that hold references (their values are
//     copied, as assignment copies them, but not what they point to);
//   - what a pointer points to when that is a struct with unexported fields
//     (a *sync.Mutex, a *sql.DB, a type with a CacheKey method over state
//     of its own): its identity may be what the value means;
//   - map keys that hold references (kept as they are), unsafe pointers,
//     and values nested deeper than maxDepth levels.
//
// time.Time, whose unexported location pointer is never changed, counts as
// a value. Funcs and channels are shared and count as values: what a
// channel holds is no part of a key. Pointers the original shares (two
// fields pointing to one struct, a cycle) are shared likewise in the copy.
func CopierOf[T any]() func(T) (T, bool) {
	if !holdsRefs(reflect.TypeFor[T]()) {
		return nil
	}
	return func(v T) (T, bool) {
		var c copier
		out := c.copy(reflect.ValueOf(&v).Elem())
		var r T
		reflect.ValueOf(&r).Elem().Set(out)
		return r, !c.partial
	}
}

// refsCache holds holdsRefs's and opaque's answers for struct types.
var refsCache sync.Map // reflect.Type -> typeRefs

type typeRefs struct{ refs, opaque bool }

// structRefs returns holdsRefs and opaque of struct type t.
func structRefs(t reflect.Type) typeRefs {
	if r, ok := refsCache.Load(t); ok {
		return r.(typeRefs)
	}
	var r typeRefs
	if t != timeType {
		for i := range t.NumField() {
			f := t.Field(i)
			r.refs = r.refs || holdsRefs(f.Type)
			r.opaque = r.opaque || !f.IsExported() || opaque(f.Type)
		}
	}
	refsCache.Store(t, r)
	return r
}

// holdsRefs reports whether a value of type t can share memory that may
// change with a copy made by assignment.
func holdsRefs(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface, reflect.UnsafePointer:
		return true
	case reflect.Array:
		return t.Len() > 0 && holdsRefs(t.Elem())
	case reflect.Struct:
		return structRefs(t).refs
	}
	return false
}

// opaque reports whether t holds a struct with unexported fields by value
// (itself, a field or an array element): a copy of what points to it would
// copy state that is not the copier's to copy.
func opaque(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && opaque(t.Elem())
	case reflect.Struct:
		return structRefs(t).opaque
	}
	return false
}

// copier makes one copy: seen holds the copies of the pointers and maps
// met so far, so that the copy shares what the original shares and a cycle
// ends; partial records that something was left shared.
type copier struct {
	seen    map[refKey]reflect.Value
	depth   int
	partial bool
}

type refKey struct {
	p unsafe.Pointer
	t reflect.Type
}

// copy returns a copy of v, of v's type.
func (c *copier) copy(v reflect.Value) reflect.Value {
	t := v.Type()
	if !holdsRefs(t) {
		return v
	}
	if c.depth >= maxDepth {
		c.partial = true
		return v
	}
	c.depth++
	defer func() { c.depth-- }()
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		if opaque(t.Elem()) {
			c.partial = true
			return v
		}
		k := refKey{v.UnsafePointer(), t}
		if p, ok := c.seen[k]; ok {
			return p
		}
		p := reflect.New(t.Elem())
		c.remember(k, p)
		p.Elem().Set(c.copy(v.Elem()))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := reflect.MakeSlice(t, v.Len(), v.Len())
		if !holdsRefs(t.Elem()) {
			reflect.Copy(n, v)
			return n
		}
		for i := range v.Len() {
			n.Index(i).Set(c.copy(v.Index(i)))
		}
		return n
	case reflect.Array:
		n := reflect.New(t).Elem()
		for i := range v.Len() {
			n.Index(i).Set(c.copy(v.Index(i)))
		}
		return n
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		k := refKey{v.UnsafePointer(), t}
		if m, ok := c.seen[k]; ok {
			return m
		}
		if holdsRefs(t.Key()) {
			c.partial = true
		}
		n := reflect.MakeMapWithSize(t, v.Len())
		c.remember(k, n)
		for it := v.MapRange(); it.Next(); {
			n.SetMapIndex(it.Key(), c.copy(it.Value()))
		}
		return n
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		n := reflect.New(t).Elem()
		n.Set(c.copy(v.Elem()))
		return n
	case reflect.Struct:
		n := reflect.New(t).Elem()
		n.Set(v) // unexported fields as assignment copies them
		for i := range t.NumField() {
			f := t.Field(i)
			switch {
			case !holdsRefs(f.Type):
			case !f.IsExported():
				c.partial = true
			default:
				n.Field(i).Set(c.copy(v.Field(i)))
			}
		}
		return n
	}
	c.partial = true // an unsafe pointer
	return v
}

func (c *copier) remember(k refKey, v reflect.Value) {
	if c.seen == nil {
		c.seen = map[refKey]reflect.Value{}
	}
	c.seen[k] = v
}
