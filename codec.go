package caching

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"sync"
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
// stored. Unexported struct fields are not stored.
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
	b, err := json.Marshal(v)
	if err == nil && replacedBytes(b) {
		return nil, errNotUTF8
	}
	return b, err
}

// replacedBytes reports whether b, the output of json.Marshal, holds the
// escape `\ufffd`, which encoding/json writes for each byte of a string that
// is not valid UTF-8 (a valid U+FFFD it writes as the character itself): the
// value would not decode as it was. An escape is told from an escaped
// backslash followed by "ufffd" by the number of backslashes before it. A
// MarshalJSON method that writes the escape itself is refused too (the
// value is then not stored: safe).
func replacedBytes(b []byte) bool {
	const esc = `\ufffd`
	for i := 0; ; {
		j := bytes.Index(b[i:], []byte(esc))
		if j < 0 {
			return false
		}
		j += i
		n := 0 // backslashes before the one that starts the match
		for k := j - 1; k >= 0 && b[k] == '\\'; k-- {
			n++
		}
		if n%2 == 0 {
			return true
		}
		i = j + len(esc)
	}
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
	if t == nil {
		return false
	}
	if v, ok := interfaceTypes.Load(t); ok {
		return v.(bool)
	}
	r := typeHoldsInterface(t, map[reflect.Type]bool{})
	interfaceTypes.Store(t, r)
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
