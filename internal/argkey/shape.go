package argkey

import (
	"reflect"
	"strconv"
	"strings"
)

// Shape describes the structure of values of type t as a codec sees them,
// for telling the values that one release of a program stored from those
// of a release whose type changed (a field renamed, retyped or retagged):
// JSON decodes either into the other without an error, leaving what it
// does not find zero.
//
// The description depends on nothing but t's declaration, so that it is
// the same in every process and every build of the same source:
//
//   - Structs by their exported fields (and their embedded ones, whose
//     fields a codec promotes) in declaration order: name, shape and tag.
//     Unexported fields are left out, as codecs leave them out.
//   - Basic types by their kind: a named type (type Cents int) is its
//     underlying type, and renaming a type or moving it to another package
//     changes nothing.
//   - Pointers, slices, arrays and maps by the shape of what they hold.
//   - A named type that encodes itself (a MarshalJSON, MarshalText,
//     MarshalBinary or GobEncode method, on it or its pointer: time.Time) by
//     its package path and name: what its encoding holds is its own.
//   - Interfaces by their methods (any: "any"): the dynamic type of a value
//     is not known from t.
//   - A named type other than those is numbered where it is first
//     written ("#0struct{...}", in the order of the walk, which is the
//     order of the declarations), and written again as its number ("@0"):
//     a type within itself (type Node struct{ Next *Node }) ends the walk,
//     and a family of types that refer to one another (an Order's User,
//     whose Orders...) is written once each, where spelling each wherever
//     it appears would grow as the number of paths through them, with
//     the factorial of their number.
func Shape(t reflect.Type) string {
	s := shaper{ids: map[reflect.Type]int{}}
	s.write(t)
	return s.b.String()
}

// shaper writes a Shape: b is the description so far, ids the numbers of
// the named types written.
type shaper struct {
	b   strings.Builder
	ids map[reflect.Type]int
}

// selfEncoders are the methods by which a type chooses its own encoding in
// the codecs of the standard library.
var selfEncoders = []reflect.Type{
	reflect.TypeFor[interface{ MarshalJSON() ([]byte, error) }](),
	reflect.TypeFor[interface{ MarshalText() ([]byte, error) }](),
	reflect.TypeFor[interface{ MarshalBinary() ([]byte, error) }](),
	reflect.TypeFor[interface{ GobEncode() ([]byte, error) }](),
}

// encodesItself reports whether t, a named type that is not an interface,
// or its pointer has one of the selfEncoders methods.
func encodesItself(t reflect.Type) bool {
	if t.Name() == "" || t.Kind() == reflect.Interface {
		return false
	}
	pt := reflect.PointerTo(t)
	for _, m := range selfEncoders {
		if t.Implements(m) || pt.Implements(m) {
			return true
		}
	}
	return false
}

// write writes t's shape.
func (s *shaper) write(t reflect.Type) {
	b := &s.b
	if encodesItself(t) {
		b.WriteString("=" + t.PkgPath() + "." + t.Name())
		return
	}
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array, reflect.Map, reflect.Struct:
		if t.Name() != "" {
			if id, ok := s.ids[t]; ok {
				b.WriteString("@" + strconv.Itoa(id))
				return
			}
			s.ids[t] = len(s.ids)
			b.WriteString("#" + strconv.Itoa(s.ids[t]))
		}
	}
	switch t.Kind() {
	case reflect.Pointer:
		b.WriteString("*")
		s.write(t.Elem())
	case reflect.Slice:
		b.WriteString("[]")
		s.write(t.Elem())
	case reflect.Array:
		b.WriteString("[" + strconv.Itoa(t.Len()) + "]")
		s.write(t.Elem())
	case reflect.Map:
		b.WriteString("map[")
		s.write(t.Key())
		b.WriteString("]")
		s.write(t.Elem())
	case reflect.Struct:
		s.writeStruct(t)
	case reflect.Interface:
		if t.NumMethod() == 0 {
			b.WriteString("any")
			return
		}
		b.WriteString("interface{")
		for i := range t.NumMethod() {
			m := t.Method(i)
			b.WriteString(m.Name + " " + m.Type.String() + ";")
		}
		b.WriteString("}")
	default:
		// Basic kinds; funcs, channels and unsafe pointers, which no result
		// holds, by their kind too.
		b.WriteString(t.Kind().String())
	}
}

// writeStruct writes the shape of struct type t.
func (s *shaper) writeStruct(t reflect.Type) {
	b := &s.b
	b.WriteString("struct{")
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() && !f.Anonymous {
			continue
		}
		if f.Anonymous {
			b.WriteString("embedded ")
		}
		b.WriteString(f.Name + " ")
		s.write(f.Type)
		b.WriteString(" " + strconv.Quote(string(f.Tag)) + ";")
	}
	b.WriteString("}")
}
