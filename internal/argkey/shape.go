package argkey

import (
	"reflect"
	"slices"
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
//   - A type within itself (type Node struct{ Next *Node }) by how many
//     types up it was entered.
func Shape(t reflect.Type) string {
	var b strings.Builder
	writeShape(&b, t, nil)
	return b.String()
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

// writeShape writes t's Shape to b; open holds the types being written
// around it, innermost last, for a type within itself.
func writeShape(b *strings.Builder, t reflect.Type, open []reflect.Type) {
	if i := slices.Index(open, t); i >= 0 {
		b.WriteString("^" + strconv.Itoa(len(open)-i))
		return
	}
	if encodesItself(t) {
		b.WriteString("=" + t.PkgPath() + "." + t.Name())
		return
	}
	switch t.Kind() {
	case reflect.Pointer:
		b.WriteString("*")
		writeShape(b, t.Elem(), append(open, t))
	case reflect.Slice:
		b.WriteString("[]")
		writeShape(b, t.Elem(), append(open, t))
	case reflect.Array:
		b.WriteString("[" + strconv.Itoa(t.Len()) + "]")
		writeShape(b, t.Elem(), append(open, t))
	case reflect.Map:
		b.WriteString("map[")
		writeShape(b, t.Key(), append(open, t))
		b.WriteString("]")
		writeShape(b, t.Elem(), append(open, t))
	case reflect.Struct:
		writeStructShape(b, t, append(open, t))
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

// writeStructShape writes the shape of struct type t, the last of open.
func writeStructShape(b *strings.Builder, t reflect.Type, open []reflect.Type) {
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
		writeShape(b, f.Type, open)
		b.WriteString(" " + strconv.Quote(string(f.Tag)) + ";")
	}
	b.WriteString("}")
}
