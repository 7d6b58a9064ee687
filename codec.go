package caching

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync"
	"unicode/utf8"
)

// Codec turns typed values into bytes for the backend and back. It is used by
// GetAs, SetAs, GetOrSet and Memoize when the backend is not in-process (an
// in-process store keeps the Go value itself and encodes nothing).
//
// A Codec must be safe for concurrent use, must decode into the concrete type
// it is given (never instantiate types named by the data: a shared store may
// hold bytes written by anyone with access to it), and must round-trip the
// values it accepts: a value it cannot give back as it was is an error of
// Marshal, and is not stored.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: encoding/json. It round-trips structs, maps,
// slices, time.Time (to the nanosecond, with its offset; compare with
// Time.Equal) and int64 values exactly, because values are always decoded
// into their declared Go type; inside an interface{}, wherever it is (an
// any, a map[string]any, a struct field of type any), numbers decode as
// json.Number, so large integers are kept exactly there too. It cannot
// hold NaN or infinite floats, channels or functions, nor a string that is
// not valid UTF-8 (a digest or compressed bytes held in a string, which
// encoding/json would silently replace with U+FFFD: use []byte, which is
// stored as base64): Marshal returns an error, and the value is not
// stored. Unexported struct fields are not stored. A type that writes and
// reads itself through pointer methods (func (*T) MarshalJSON and
// UnmarshalJSON, or MarshalText and UnmarshalText) is written through
// them, as it is read; as a map's value, or a map's key of a kind other
// than string, where encoding/json cannot call them (it would write the
// fields instead), it is refused: use a map of pointers. A key of string
// kind is written as its string whatever its methods (encoding/json's
// rule) and read through UnmarshalText: not refused. A MarshalJSON or
// MarshalText without the matching Unmarshal method (one that shapes an
// API's output) is not detected: where encoding/json calls it, the value
// is read back by its fields, and may not be what was stored.
//
// It won over encoding/gob in this package's codec benchmarks (see
// BenchmarkCodec): gob writes its type descriptions with every value, which
// costs more than JSON's text for the small values caches hold, and gob's
// interface registry is what a store shared between services must not decode.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

// errNotUTF8 is JSON's Marshal error for a string that is not valid UTF-8.
var errNotUTF8 = errors.New("caching: json: a string is not valid UTF-8 (JSON would replace its bytes with U+FFFD); hold binary data in a []byte")

func (jsonCodec) Marshal(v any) ([]byte, error) {
	var (
		b   []byte
		err error
	)
	rv := reflect.ValueOf(v)
	switch plan := addressPlanOf(rv); {
	case plan.refuse != nil:
		return nil, plan.refuse
	case plan.copy:
		// Through a pointer to a copy: the value and its fields are
		// addressable, and encoding/json calls their pointer methods, as
		// decoding into a *T does.
		p := reflect.New(rv.Type())
		p.Elem().Set(rv)
		b, err = json.Marshal(p.Interface())
	default:
		b, err = json.Marshal(v)
	}
	// After Marshal: a value it took has no cycle for the walk to follow.
	if err == nil && !validStrings(reflect.ValueOf(v)) {
		return nil, errNotUTF8
	}
	return b, err
}

// addressPlan is how JSON's Marshal encodes a value of a type (see
// addressPlanOf).
type addressPlan struct {
	copy   bool  // through a pointer to a copy of the value
	refuse error // not at all: a part of it would not read back as it was
}

// addressPlans remembers the addressPlan of each type Marshal was given.
var addressPlans sync.Map // reflect.Type -> *addressPlan

// plainPlan is the addressPlan of a type that needs nothing.
var plainPlan = &addressPlan{}

// addressPlanOf returns how to encode v so that the methods by which its
// parts encode themselves are the ones decoding calls. Decoding is into a
// *T, so the pointer methods of a T (MarshalJSON, MarshalText) are called;
// encoding/json calls them only on an addressable value, and the value
// Marshal is given, held in an interface, is not: it is encoded through a
// pointer to a copy, whose struct fields and array elements are
// addressable too. A map's keys and values never are: a type that encodes
// itself through pointer methods there would be written field by field
// and read back through its method, as another value. Such a value is
// refused.
func addressPlanOf(v reflect.Value) *addressPlan {
	if !v.IsValid() {
		return plainPlan
	}
	t := v.Type()
	if p, ok := addressPlans.Load(t); ok {
		return p.(*addressPlan)
	}
	p := plainPlan
	if bad := unaddressedMarshaler(t, map[reflect.Type]bool{}); bad != nil {
		p = &addressPlan{refuse: fmt.Errorf("caching: json: %v in a map's key or value encodes itself through pointer methods, which encoding/json does not call there (its fields would be written, not read back as they were); use a map of pointers (map[K]*%v), or value receivers for the Marshal methods", bad, bad)}
	} else if unaddressedPart(t) != nil {
		p = &addressPlan{copy: true}
	}
	addressPlans.Store(t, p)
	return p
}

// encodesItself reports whether encoding/json writes a value of type t
// (not an interface) by a method of its own (MarshalJSON, MarshalText)
// when the value is addressable: the methods of t or of *t.
func encodesItself(t reflect.Type) bool {
	for _, e := range jsonEncoders {
		if t.Implements(e) || t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(e) {
			return true
		}
	}
	return false
}

// pointerEncoded reports whether encoding/json writes an addressable value
// of type t by a method of *t that it cannot call on a value that is not
// addressable, which it then writes otherwise (by a method of t, or by
// its kind), while decoding into a *t reads it by the matching method of
// *t (UnmarshalJSON, UnmarshalText): written one way and read the other.
// A *t with MarshalJSON and no UnmarshalJSON (a type that shapes its API
// output) is read by its fields, as a value that is not addressable is
// written: not pointer-encoded.
func pointerEncoded(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer || t.Kind() == reflect.Interface {
		return false
	}
	// encoding/json prefers MarshalJSON to MarshalText, and an
	// addressable value's pointer methods to its own.
	pt := reflect.PointerTo(t)
	for i, e := range jsonEncoders {
		if pt.Implements(e) {
			return !t.Implements(e) && pt.Implements(jsonDecoders[i])
		}
	}
	return false
}

// jsonField reports whether encoding/json may write struct field f.
func jsonField(f reflect.StructField) bool {
	return (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-"
}

// unaddressedMarshaler returns the type of a part of a value of type t
// that a map holds as a key or value where encoding/json cannot call the
// pointer method it would write it by (see unaddressedPart), or nil when
// there is none. seen breaks the cycles of recursive types.
func unaddressedMarshaler(t reflect.Type, seen map[reflect.Type]bool) reflect.Type {
	if seen[t] || t.Kind() == reflect.Interface || encodesItself(t) {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Map:
		// A key is written by its kind when it is a string, else by
		// MarshalText of its value only; decoding calls a *K's
		// UnmarshalText.
		if k := t.Key(); k.Kind() != reflect.String && pointerEncoded(k) {
			return k
		}
		if bad := unaddressedPart(t.Elem()); bad != nil {
			return bad
		}
		return unaddressedMarshaler(t.Elem(), seen)
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return unaddressedMarshaler(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); jsonField(f) {
				if bad := unaddressedMarshaler(f.Type, seen); bad != nil {
					return bad
				}
			}
		}
	}
	return nil
}

// unaddressedPart returns the type of a part of a value of type t, held
// where it is not addressable, that pointerEncoded says is written
// otherwise, or nil: t itself, or one of its struct fields or array
// elements, which are addressable only when t is (a pointer's target and
// a slice's elements always are).
func unaddressedPart(t reflect.Type) reflect.Type {
	if pointerEncoded(t) {
		return t
	}
	if t.Kind() == reflect.Interface || encodesItself(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Array:
		return unaddressedPart(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); jsonField(f) {
				if bad := unaddressedPart(f.Type); bad != nil {
					return bad
				}
			}
		}
	}
	return nil
}

// validStrings reports whether every string encoding/json writes of v is
// valid UTF-8: encoding/json replaces each byte of one that is not with
// U+FFFD, silently, so such a value would not decode as it was. It walks
// the Go value, not the encoding, so that a string encoded twice (the
// ",string" option) is checked too, and the text "\ufffd" a value holds
// is not taken for a replacement. What a type encodes itself (MarshalJSON,
// MarshalText) is its own; fields encoding/json leaves out (unexported,
// tagged "-") are still checked where the walk cannot tell (embedded
// structs), which at worst refuses a value that would round-trip.
func validStrings(v reflect.Value) bool {
	if !v.IsValid() || !mayHoldStrings(v.Type()) {
		return true
	}
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || validStrings(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !validStrings(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if !validStrings(it.Key()) || !validStrings(it.Value()) {
				return false
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if (f.IsExported() || f.Anonymous) && f.Tag.Get("json") != "-" && !validStrings(v.Field(i)) {
				return false
			}
		}
	}
	return true
}

// stringTypes remembers, per type, whether a value of it can hold a string
// that encoding/json writes (mayHoldStrings).
var stringTypes sync.Map // reflect.Type -> bool

// jsonEncoders are the interfaces by which a type writes its own JSON.
var jsonEncoders = [...]reflect.Type{
	reflect.TypeFor[json.Marshaler](),
	reflect.TypeFor[interface{ MarshalText() ([]byte, error) }](),
}

// jsonDecoders are the methods by which encoding/json reads what each of
// jsonEncoders wrote.
var jsonDecoders = [...]reflect.Type{
	reflect.TypeFor[json.Unmarshaler](),
	reflect.TypeFor[interface{ UnmarshalText([]byte) error }](),
}

// mayHoldStrings reports whether a value of type t can hold a string that
// encoding/json writes as one: not a type that encodes itself, not a
// []byte (base64).
func mayHoldStrings(t reflect.Type) bool { return remembered(&stringTypes, t, typeHoldsStrings) }

// typeHoldsStrings is mayHoldStrings's walk of t's parts; seen breaks the
// cycles of recursive types.
func typeHoldsStrings(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	if t.Kind() != reflect.Interface {
		for _, e := range jsonEncoders {
			if t.Implements(e) || reflect.PointerTo(t).Implements(e) {
				return false
			}
		}
	}
	switch t.Kind() {
	case reflect.String, reflect.Interface:
		return true
	case reflect.Slice:
		return t.Elem().Kind() != reflect.Uint8 && typeHoldsStrings(t.Elem(), seen)
	case reflect.Pointer, reflect.Array:
		return typeHoldsStrings(t.Elem(), seen)
	case reflect.Map:
		return typeHoldsStrings(t.Key(), seen) || typeHoldsStrings(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); (f.IsExported() || f.Anonymous) && typeHoldsStrings(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

func (jsonCodec) Unmarshal(data []byte, v any) error {
	if !holdsInterface(reflect.TypeOf(v)) {
		return json.Unmarshal(data, v)
	}
	// Numbers inside interfaces decode as json.Number, not float64, so that
	// integers above 2^53 survive.
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Only white space may follow (More would let a stray ] or } pass).
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("caching: json: data after the value")
	}
	return nil
}

// interfaceTypes remembers, per type, whether a value of it can hold an
// interface (holdsInterface).
var interfaceTypes sync.Map // reflect.Type -> bool

// holdsInterface reports whether decoding into a value of type t may
// decode into an interface somewhere: t is one, or a pointer, slice,
// array, map or struct whose parts can be one. JSON then decodes with
// UseNumber, which json.Unmarshal cannot; other types take json.Unmarshal's
// cheaper path.
func holdsInterface(t reflect.Type) bool {
	return t != nil && remembered(&interfaceTypes, t, typeHoldsInterface)
}

// remembered returns what walk says of t, from m, where it is kept the
// first time it is asked: m holds a bool per type.
func remembered(m *sync.Map, t reflect.Type, walk func(reflect.Type, map[reflect.Type]bool) bool) bool {
	if v, ok := m.Load(t); ok {
		return v.(bool)
	}
	r := walk(t, map[reflect.Type]bool{})
	m.Store(t, r)
	return r
}

// typeHoldsInterface is holdsInterface's walk of t's parts; seen breaks
// the cycles of recursive types.
func typeHoldsInterface(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return true
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return typeHoldsInterface(t.Elem(), seen)
	case reflect.Map:
		return typeHoldsInterface(t.Key(), seen) || typeHoldsInterface(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); f.IsExported() || f.Anonymous {
				if typeHoldsInterface(f.Type, seen) {
					return true
				}
			}
		}
	}
	return false
}
