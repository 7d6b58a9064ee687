package caching

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-caching/caching/internal/argkey"
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
// rule) and read through UnmarshalText where its pointer has one: a key
// that UnmarshalText does not give back as it was (a digest type that
// writes and reads hex) is refused; use a map keyed by string.
//
// Also refused, as encoding/json would write them and no decoding read
// them back as they were: a struct that gets MarshalJSON or MarshalText
// (or the Unmarshal method) from a field it embeds, such as time.Time or
// netip.Addr, and has fields of its own, which would not be written (name
// the embedded field); a type with UnmarshalText and no MarshalText that
// is not a string (written as a number or an object, which UnmarshalText
// is never given), as a value or a map's key; a non-nil value in an
// interface with methods, such as an error in a field of type error (an
// empty interface holds what JSON decodes), a typed nil (a nil *E in an
// error) included, which is written as null and read back as a nil
// interface; a struct that embeds a pointer to an unexported struct with
// exported fields (decoding cannot allocate it to set them); a struct with
// two fields of one JSON name, its own or its embedded structs'
// (encoding/json writes the shallower, or neither at one depth: rename one
// with a json tag); a struct that embeds two structs at one depth that
// both have MarshalJSON or MarshalText (or both Unmarshal methods), such
// as time.Time and another (encoding/json calls neither method, and
// writes their exported fields: a time.Time's would be lost; name them).
// What a type writes and reads itself (a slice type with
// MarshalJSON and UnmarshalJSON, its elements in interfaces) is its own,
// and not refused for its parts; nor is an embedded field encoding/json
// ignores (an embedded error: unexported, it is not stored). These errors
// wrap *json.UnsupportedTypeError, or *json.UnsupportedValueError where
// the value tells. A MarshalJSON or MarshalText without the matching
// Unmarshal method (one that shapes an API's output) is not detected:
// where encoding/json calls it, the value is read back by its fields, and
// may not be what was stored; nor is an UnmarshalJSON without MarshalJSON,
// or an UnmarshalText without MarshalText on a string type, which is given
// the string that was written.
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
	plan := addressPlanOf(rv)
	switch {
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
	// After Marshal: a value it took has no cycle for the walks to follow.
	if err != nil {
		return nil, err
	}
	if !validStrings(rv) {
		return nil, errNotUTF8
	}
	if plan.walk {
		if err := unreadableValue(rv); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// addressPlan is how JSON's Marshal encodes a value of a type (see
// addressPlanOf).
type addressPlan struct {
	copy   bool  // through a pointer to a copy of the value
	refuse error // not at all: a part of it would not read back as it was
	walk   bool  // after unreadableValue says its value reads back
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
// refused, as is one of a type that unreadableType refuses; a type that
// may hold what only its value tells (typeNeedsWalk) is walked.
func addressPlanOf(v reflect.Value) *addressPlan {
	if !v.IsValid() {
		return plainPlan
	}
	t := v.Type()
	if p, ok := addressPlans.Load(t); ok {
		return p.(*addressPlan)
	}
	p := &addressPlan{}
	if bad := unaddressedMarshaler(t, map[reflect.Type]bool{}); bad != nil {
		p.refuse = fmt.Errorf("caching: json: %v in a map's key or value encodes itself through pointer methods, which encoding/json does not call there (its fields would be written, not read back as they were); use a map of pointers (map[K]*%v), or value receivers for the Marshal methods: %w", bad, bad, &json.UnsupportedTypeError{Type: bad})
	} else if err := unreadableType(t, map[reflect.Type]bool{}); err != nil {
		p.refuse = err
	} else {
		p.copy = unaddressedPart(t) != nil
		p.walk = typeNeedsWalk(t, map[reflect.Type]bool{})
	}
	if *p == *plainPlan {
		p = plainPlan
	}
	addressPlans.Store(t, p)
	return p
}

// How encoding/json writes or reads a value of a type: by its kind, or by
// the MarshalJSON and UnmarshalJSON or MarshalText and UnmarshalText
// methods of the type or its pointer (jsonEncoders[i-1],
// jsonDecoders[i-1]).
const (
	byKind = iota
	byJSONMethod
	byTextMethod
)

// jsonMethodNames names the methods of jsonEncoders and jsonDecoders.
var jsonMethodNames = [...][2]string{{"MarshalJSON", "UnmarshalJSON"}, {"MarshalText", "UnmarshalText"}}

// writtenBy returns how encoding/json writes an addressable value of type
// t (not a pointer or interface), and readBy how it reads one into a *t.
func writtenBy(t reflect.Type) int {
	for i, e := range jsonEncoders {
		if t.Implements(e) || reflect.PointerTo(t).Implements(e) {
			return i + 1
		}
	}
	return byKind
}

func readBy(t reflect.Type) int {
	for i, d := range jsonDecoders {
		if reflect.PointerTo(t).Implements(d) {
			return i + 1
		}
	}
	return byKind
}

// textUnmarshaler is the interface of UnmarshalText.
var textUnmarshaler = jsonDecoders[1]

// unreadableType returns why a value of type t, or a part of one outside
// interfaces, would be written by encoding/json and never read back as it
// was, whatever the value, or nil: a struct whose Marshal or Unmarshal
// method is promoted from a field it embeds while it has other fields
// (they would not be written); a type read by UnmarshalText and written by
// its kind, not a string (a number, an object: which UnmarshalText is
// never given), as a value or a map's key; a struct embedding a pointer to
// an unexported struct with JSON fields (written, but decoding cannot
// allocate it to set them); a struct with two fields of one JSON name
// (encoding/json writes the shallower, or neither at one depth); a struct
// embedding (untagged) two structs at one depth that both write or read
// themselves (MarshalJSON, MarshalText, or the Unmarshal methods):
// encoding/json calls neither, and writes their exported fields. The parts
// of a type that writes and reads itself are its methods' own. seen breaks
// the cycles of recursive types. The error wraps
// *json.UnsupportedTypeError.
func unreadableType(t reflect.Type, seen map[reflect.Type]bool) error {
	if seen[t] {
		return nil
	}
	seen[t] = true
	refuse := func(format string, args ...any) error {
		return fmt.Errorf("caching: json: "+format+": %w", append(args, &json.UnsupportedTypeError{Type: t})...)
	}
	switch t.Kind() {
	case reflect.Interface:
		return nil
	case reflect.Pointer:
		// *T has no methods of its own: T's tell.
		return unreadableType(t.Elem(), seen)
	}
	w, r := writtenBy(t), readBy(t)
	if t.Kind() == reflect.Struct && (w != byKind || r != byKind) && storedFields(t) > 1 {
		if w != byKind && argkey.Promoted(t, methodReceiver(t, jsonEncoders[w-1]), jsonMethodNames[w-1][0]) {
			return refuse("%v embeds %v, whose %s encoding/json calls for all of it: its other fields would not be stored", t, embedderOf(t, jsonMethodNames[w-1][0]), jsonMethodNames[w-1][0])
		}
		if r != byKind && argkey.Promoted(t, methodReceiver(t, jsonDecoders[r-1]), jsonMethodNames[r-1][1]) {
			return refuse("%v embeds %v, whose %s encoding/json calls for all of it: its other fields would not be read", t, embedderOf(t, jsonMethodNames[r-1][1]), jsonMethodNames[r-1][1])
		}
	}
	if w == byKind && r == byTextMethod && t.Kind() != reflect.String {
		return refuse("%v has UnmarshalText and no MarshalText: it would be written by its kind (%v), which UnmarshalText is not given", t, t.Kind())
	}
	if w != byKind || r != byKind {
		return nil // its parts are its methods' own
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return unreadableType(t.Elem(), seen)
	case reflect.Map:
		// A key of string kind is written as its string, of another kind
		// by MarshalText of its value only (unaddressedMarshaler refuses
		// one of its pointer), and read by UnmarshalText if a *K has it.
		if k := t.Key(); k.Kind() != reflect.String && !k.Implements(jsonEncoders[1]) && reflect.PointerTo(k).Implements(textUnmarshaler) {
			return refuse("%v, a map's key, has UnmarshalText and no MarshalText: it would be written by its kind (%v), which UnmarshalText is not given", k, k.Kind())
		}
		return unreadableType(t.Elem(), seen)
	case reflect.Struct:
		if name := conflictingField(t); name != "" {
			return refuse("%v has two fields named %q for JSON, of which encoding/json writes one or neither; rename one with a json tag", t, name)
		}
		for i := range t.NumField() {
			f := t.Field(i)
			if !jsonField(f) {
				continue
			}
			if ft := derefType(f.Type); f.Anonymous && jsonName(f) == "" && ft.Kind() == reflect.Struct {
				// Not promoted to t, which would be written by it (see
				// above): two embedded fields at one depth have it, and
				// encoding/json calls neither, writing their exported
				// fields in place of what the methods write.
				if w := writtenBy(ft); w != byKind {
					return refuse("%v embeds %v, whose %s encoding/json does not call (another field it embeds at that depth has one too): what it writes would not be stored; name the embedded fields", t, f.Type, jsonMethodNames[w-1][0])
				}
				if r := readBy(ft); r != byKind {
					return refuse("%v embeds %v, whose %s encoding/json does not call (another field it embeds at that depth has one too): it would not be read as written; name the embedded fields", t, f.Type, jsonMethodNames[r-1][1])
				}
			}
			if f.Anonymous && !f.IsExported() && f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct && (jsonName(f) != "" || hasJSONFields(f.Type.Elem())) {
				return refuse("%v embeds *%v, a pointer to an unexported struct, which encoding/json writes and cannot read (it cannot allocate it); embed the struct, or export its type", t, f.Type.Elem())
			}
			if err := unreadableType(f.Type, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// methodReceiver returns t or *t, whichever has the method of interface i
// (t first, as encoding/json asks).
func methodReceiver(t, i reflect.Type) reflect.Type {
	if t.Implements(i) {
		return t
	}
	return reflect.PointerTo(t)
}

// embedderOf returns the type of the field of struct t through which t has
// the method name, for an error.
func embedderOf(t reflect.Type, name string) reflect.Type {
	for i := range t.NumField() {
		if f := t.Field(i); f.Anonymous {
			if _, ok := reflect.PointerTo(f.Type).MethodByName(name); ok {
				return f.Type
			}
		}
	}
	return t
}

// storedFields returns how many fields of struct t encoding/json would
// write, were t not written by a method: those jsonField names, but an
// embedded struct (or pointer to one) without a JSON name that has no
// JSON field to contribute (an empty marker, a struct of unexported
// fields) and no method to write or read it (as time.Time has, which a
// struct that embeds it gets).
func storedFields(t reflect.Type) int {
	n := 0
	for i := range t.NumField() {
		f := t.Field(i)
		if !jsonField(f) {
			continue
		}
		if ft := derefType(f.Type); f.Anonymous && ft.Kind() == reflect.Struct && jsonName(f) == "" &&
			!hasJSONFields(ft) && writtenBy(ft) == byKind && readBy(ft) == byKind {
			continue
		}
		n++
	}
	return n
}

// derefType returns the type t points to, or t when it is not a pointer.
func derefType(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		return t.Elem()
	}
	return t
}

// jsonName returns the name struct field f's json tag gives it, or "".
func jsonName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	return name
}

// hasJSONFields reports whether encoding/json would write a field of
// struct t, its own or one of the structs it embeds.
func hasJSONFields(t reflect.Type) bool {
	names := map[string]int{}
	fieldNames(t, names, map[reflect.Type]bool{})
	return len(names) > 0
}

// conflictingField returns a JSON name that two fields of struct t have,
// its own or those of the structs it embeds (which encoding/json writes
// as its own), or "": of two such fields encoding/json writes the
// shallower, or neither at one depth, and the other is lost.
func conflictingField(t reflect.Type) string {
	names := map[string]int{}
	fieldNames(t, names, map[reflect.Type]bool{})
	dup := ""
	for name, n := range names {
		if n > 1 && (dup == "" || name < dup) {
			dup = name
		}
	}
	return dup
}

// fieldNames counts in names the JSON names of the fields of struct t, by
// encoding/json's rules; path holds the embedded structs being walked.
func fieldNames(t reflect.Type, names map[string]int, path map[reflect.Type]bool) {
	path[t] = true
	defer delete(path, t)
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !f.IsExported() && ft.Kind() != reflect.Struct {
				continue
			}
			if name == "" && ft.Kind() == reflect.Struct {
				if !path[ft] {
					fieldNames(ft, names, path)
				}
				continue
			}
		} else if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names[name]++
	}
}

// walkTypes remembers, per type, whether a value of it may hold what
// unreadableValue refuses (typeNeedsWalk).
var walkTypes sync.Map // reflect.Type -> bool

// typeNeedsWalk reports whether a value of type t may hold, outside what
// encodes itself and empty interfaces, a value in an interface with
// methods or a map keyed by a string kind with UnmarshalText: what
// unreadableValue checks. seen breaks the cycles of recursive types.
func typeNeedsWalk(t reflect.Type, seen map[reflect.Type]bool) bool {
	if seen[t] {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Interface:
		return t.NumMethod() > 0
	case reflect.Pointer:
		// *T has no methods of its own: T's tell.
		return typeNeedsWalk(t.Elem(), seen)
	}
	if writtenBy(t) != byKind || readBy(t) != byKind {
		return false
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return typeNeedsWalk(t.Elem(), seen)
	case reflect.Map:
		k := t.Key()
		return k.Kind() == reflect.String && reflect.PointerTo(k).Implements(textUnmarshaler) || typeNeedsWalk(t.Elem(), seen)
	case reflect.Struct:
		for i := range t.NumField() {
			if f := t.Field(i); jsonField(f) && typeNeedsWalk(f.Type, seen) {
				return true
			}
		}
	}
	return false
}

// unreadableValue returns why v, whose type typeNeedsWalk says may hold
// it, holds what encoding/json would write and no decoding into its type
// reads back as it was, or nil: a value in an interface with methods (an
// error: decoding has no type to make), or a map key of string kind that
// UnmarshalText, by which it is read, does not give back as it was
// (encoding/json writes such a key as its string, never by MarshalText).
// The error wraps *json.UnsupportedValueError.
func unreadableValue(v reflect.Value) error {
	if !v.IsValid() || !remembered(&walkTypes, v.Type(), typeNeedsWalk) {
		return nil
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return nil
		}
		if e := v.Elem(); e.Kind() == reflect.Pointer && e.IsNil() {
			// encoding/json writes null, which decodes as a nil
			// interface: an err != nil that was true would be false.
			return &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("a typed nil (%v) in a %v: written as null, it would be read back as a nil %v, which compares otherwise; store a nil interface", e.Type(), v.Type(), v.Type())}
		}
		return &json.UnsupportedValueError{Value: v, Str: fmt.Sprintf("a %v in a %v: no decoding into an interface with methods reads it (caching: json stores such a field only when nil)", v.Elem().Type(), v.Type())}
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return unreadableValue(v.Elem())
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if err := unreadableValue(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Map:
		kt := v.Type().Key()
		keys := kt.Kind() == reflect.String && reflect.PointerTo(kt).Implements(textUnmarshaler)
		for it := v.MapRange(); it.Next(); {
			if keys {
				k := it.Key().String()
				p := reflect.New(kt)
				if err := p.Interface().(interface{ UnmarshalText([]byte) error }).UnmarshalText([]byte(k)); err != nil || p.Elem().String() != k || !utf8.ValidString(k) {
					return &json.UnsupportedValueError{Value: it.Key(), Str: fmt.Sprintf("map key %q of type %v: written as its string, read back by UnmarshalText as another key or an error; use a map keyed by string", k, kt)}
				}
			}
			if err := unreadableValue(it.Value()); err != nil {
				return err
			}
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if jsonField(t.Field(i)) {
				if err := unreadableValue(v.Field(i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
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

// jsonField reports whether encoding/json may write struct field f: an
// exported one, or an embedded struct or pointer to one (whose exported
// fields it writes as the embedder's), not tagged "-". An embedded field
// of an unexported type of another kind (an embedded error) it ignores.
func jsonField(f reflect.StructField) bool {
	if f.Tag.Get("json") == "-" {
		return false
	}
	return f.IsExported() || f.Anonymous && derefType(f.Type).Kind() == reflect.Struct
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
			if jsonField(t.Field(i)) && !validStrings(v.Field(i)) {
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
			if f := t.Field(i); jsonField(f) && typeHoldsStrings(f.Type, seen) {
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
