package argkey

import (
	"reflect"
	"sync"
	"unsafe"
)

// CopierOf returns a function that copies a value of type T deeply enough
// that a change the caller makes to the original afterwards (a slice's
// element overwritten, a map or a pointed-to struct changed) does not reach
// what the copy's key is made of, and that reports whether the copy is
// complete: whether it shares nothing with the original that the encoder
// reads and such a change could reach. It returns nil when T holds no
// references (numbers, strings, structs and arrays of them), whose values
// Go already copies on assignment.
//
// The copy reads what AppendOf[T] reads to encode the value, and nothing
// more: it follows pointers, slices, maps, interfaces, arrays and the
// exported fields of structs that the encoder encodes field by field. It
// shares with the original, and reports incomplete, what the encoder does
// not read itself or what cannot be copied safely:
//
//   - a value of a type keyed by a method (CacheKey, MarshalBinary,
//     GobEncode, MarshalText: see "Types that choose their own key"), at
//     the top or nested: it is copied as assignment copies it, sharing
//     what it references, and a pointer to it is shared as it is (its
//     identity may be what the value means: a *big.Int, a client with a
//     CacheKey over state of its own); so is a value of a type the encoder
//     does not support;
//   - map keys that hold references (kept as they are);
//   - what lies deeper than the encoder's depth limit, or past as many
//     pointers, maps, slices, arrays, structs and interface values as the
//     encoder enters in all (1,048,576): a value the encoder encodes is
//     copied within that bound, since the copy never enters one value
//     twice.
//
// A struct's blank "_" fields, which the encoder skips, are copied as
// assignment copies them, and the copy still reports complete.
// time.Time counts as a value. Pointers, maps and slices the original
// shares (two fields pointing to one struct or holding one slice, a
// cycle) are shared likewise in the copy.
func CopierOf[T any]() func(T) (T, bool) {
	t := reflect.TypeFor[T]()
	if !holdsRefs(t) {
		return nil
	}
	ti := infoOf(t)
	if methodKeyed(ti) {
		// Keyed by a method, or not encodable at all: nothing to read.
		return func(v T) (T, bool) { return v, false }
	}
	return func(v T) (T, bool) {
		var c copier
		out := c.copy(reflect.ValueOf(&v).Elem(), ti)
		var r T
		reflect.ValueOf(&r).Elem().Set(out)
		return r, !c.partial
	}
}

// HoldsRefs reports whether a value of type t can share memory with a copy
// of it made by assignment: whether it holds a pointer, a slice, a map, an
// interface or an unsafe pointer (a struct's blank and unexported fields
// included).
func HoldsRefs(t reflect.Type) bool { return holdsRefs(t) }

// methodKeyed reports whether the encoder encodes values of ti's type
// without reading their structure: by a key method, or not at all.
func methodKeyed(ti *typeInfo) bool {
	return ti.how != byKind && ti.how != byTime
}

// refsCache holds holdsRefs's answers for struct types.
var refsCache sync.Map // reflect.Type -> bool

// structRefs returns holdsRefs of struct type t.
func structRefs(t reflect.Type) bool {
	if r, ok := refsCache.Load(t); ok {
		return r.(bool)
	}
	refs := false
	if t != timeType {
		for i := range t.NumField() {
			refs = refs || holdsRefs(t.Field(i).Type)
		}
	}
	refsCache.Store(t, refs)
	return refs
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
		return structRefs(t)
	}
	return false
}

// copyNodes is how many levels a copy enters in all: the encoder's bound
// (a variable for the tests).
var copyNodes = maxNodes

// copier makes one copy: seen holds the copies of the pointers, maps and
// slices met so far, so that the copy shares what the original shares, a
// cycle ends and no value is entered twice; partial records that something
// was left shared.
type copier struct {
	seen    map[refKey]reflect.Value
	depth   int // levels on the current path
	nodes   int // levels entered in all
	partial bool
}

// refKey is a reference met: a pointer or a map (len 0), or a slice's data
// and length, with its type.
type refKey struct {
	p   unsafe.Pointer
	len int
	t   reflect.Type
}

// copy returns a copy of v, of v's type, whose info is ti.
func (c *copier) copy(v reflect.Value, ti *typeInfo) reflect.Value {
	t := v.Type()
	if !holdsRefs(t) {
		return v
	}
	if methodKeyed(ti) || c.depth >= maxDepth || c.nodes >= copyNodes {
		// Not read by the encoder, or past its bounds: shared.
		c.partial = true
		return v
	}
	c.depth++
	c.nodes++
	defer func() { c.depth-- }()
	switch t.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		if methodKeyed(ti.elem) {
			// The pointer itself is shared: what it points to may be
			// state whose identity matters.
			c.partial = true
			return v
		}
		k := refKey{p: v.UnsafePointer(), t: t}
		if p, ok := c.seen[k]; ok {
			return p
		}
		p := reflect.New(t.Elem())
		c.remember(k, p)
		p.Elem().Set(c.copy(v.Elem(), ti.elem))
		return p
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		n := v.Len()
		if n == 0 {
			return reflect.MakeSlice(t, 0, 0)
		}
		k := refKey{p: v.UnsafePointer(), len: n, t: t}
		if s, ok := c.seen[k]; ok {
			return s
		}
		s := reflect.MakeSlice(t, n, n)
		c.remember(k, s)
		if !holdsRefs(t.Elem()) {
			reflect.Copy(s, v)
			return s
		}
		for i := range n {
			s.Index(i).Set(c.copy(v.Index(i), ti.elem))
		}
		return s
	case reflect.Array:
		a := reflect.New(t).Elem()
		for i := range v.Len() {
			a.Index(i).Set(c.copy(v.Index(i), ti.elem))
		}
		return a
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		k := refKey{p: v.UnsafePointer(), t: t}
		if m, ok := c.seen[k]; ok {
			return m
		}
		if holdsRefs(t.Key()) {
			c.partial = true
		}
		m := reflect.MakeMapWithSize(t, v.Len())
		c.remember(k, m)
		for it := v.MapRange(); it.Next(); {
			m.SetMapIndex(it.Key(), c.copy(it.Value(), ti.elem))
		}
		return m
	case reflect.Interface:
		if v.IsNil() {
			return v
		}
		e := v.Elem()
		if !holdsRefs(e.Type()) {
			return v // what an interface holds cannot be changed through it
		}
		n := reflect.New(t).Elem()
		n.Set(c.copy(e, infoOf(e.Type())))
		return n
	case reflect.Struct:
		// The encoder reads a struct field by field only when it has no
		// unexported fields but blank ones (see build): every field it
		// reads can be set.
		n := reflect.New(t).Elem()
		n.Set(v)
		for _, f := range ti.fields {
			if holdsRefs(f.info.t) {
				n.Field(f.index).Set(c.copy(v.Field(f.index), f.info))
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
