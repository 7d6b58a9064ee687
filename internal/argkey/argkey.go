// Package argkey encodes Go values into bytes for memoization keys: the same
// argument gives the same bytes in every process and every release of the
// module, and two different arguments of one type never give the same bytes.
// CopierOf copies an argument for a computation that outlives its caller:
// it reads exactly what the encoder reads to make the argument's key, within
// the encoder's bounds, and shares (reporting an incomplete copy) what the
// encoder does not read itself, such as a value of a type that chooses its
// own key (see below) or a pointer to one.
//
// # What "the same argument" means
//
// Equal contents give equal keys, which is not always what Go's == says:
//
//   - Slices and arrays are compared by their elements; a nil slice and an
//     empty slice encode the same, as do a nil map and an empty map.
//   - Maps are encoded in the sorted order of their encoded keys, so insertion
//     and iteration order never matter.
//   - Pointers are followed: two pointers to equal values encode the same; a
//     nil pointer differs from a pointer to a zero value. A value that
//     contains itself (a cycle) is an error wrapping ErrCycle.
//   - A value nested more than 20,000 levels deep, each pointer, map, slice,
//     array, struct and value in an interface counting one (a linked list
//     of 10,000 nodes, or an expression tree of structs held in interfaces
//     10,000 deep), is an error wrapping ErrUnsupported: far deeper, the
//     recursion would overflow the stack, which kills the process.
//   - So is a value that makes the encoder enter more than 1,048,576 such
//     levels in all: a value reached through two pointers is encoded twice,
//     so that a graph of a few dozen nodes sharing their subtrees would
//     otherwise encode to gigabytes. Give such an argument a CacheKey.
//   - So is a value whose maps have keys that encode alike (NaN keys,
//     pointers to equal values) or keys that hold maps, nested so deep for
//     their size that ordering their pairs moves more than 64 MiB (each such
//     level moves what it holds once: a 1 MB string in the values of NaN
//     keys nested 9,000 maps deep would move 9 GB, seconds of CPU).
//   - Floats are canonical: every NaN encodes the same (so a NaN argument can
//     be memoized, although NaN != NaN), and -0 encodes as +0 (as -0 == +0).
//   - A time.Time encodes its instant only (Unix seconds and nanoseconds):
//     times that are Equal give equal keys whatever their location or
//     monotonic reading. Pass the location separately if the result depends
//     on it.
//   - Integers encode their value whatever their width (int8(1) and int64(1)
//     encode the same, as do any two unsigned integers of equal value): a
//     field can change width without changing its keys. Signed and unsigned
//     integers differ.
//   - Structs encode their exported fields by name, in declaration order. A
//     struct with an unexported field (other than a blank "_" field) is an
//     error wrapping ErrUnsupported unless its type implements one of the
//     methods below.
//   - Wherever the static type is an interface (an argument of type any or
//     error, a field or element of an interface type), the value encodes its
//     dynamic type's full name (with its package path) and then its value,
//     so that int(5), int64(5) and time.Duration(5) passed as any differ, as
//     do two types of one name in two packages; a nil interface encodes as
//     nil. Two types declared with one name inside two functions of one
//     package share a name, and so are told apart by value only.
//   - AppendOf encodes its argument by its static type T, as above. Append
//     encodes v as a value of its dynamic type (as AppendOf does for that
//     type): among values of one type its encoding is injective, but values
//     of different types, such as int(1) and int64(1), may share one. Use
//     AppendOf[any] where the type is not fixed.
//
// # Types that choose their own key
//
// A type with a CacheKey() string method (the Keyer interface, pointer
// receivers included) is encoded by the string it returns, which must be
// deterministic and tell apart every two values the memoized function treats
// differently. A CacheKey (or marshaler) that a struct only inherits from a
// field it embeds is not the struct's: struct{ Tenant; Page int } is encoded
// field by field, its Tenant by the Tenant's CacheKey, so that page 1 and
// page 2 never share a key; a struct with unexported fields needs a method
// of its own then.
//
// A struct with unexported fields, which the encoder cannot read, is encoded
// by the first it has of MarshalBinary (encoding.BinaryMarshaler),
// GobEncode (gob.GobEncoder) and MarshalText (encoding.TextMarshaler), and
// is an error otherwise. The method must keep every bit of the value's
// state that the memoized function uses: two values it encodes the same
// share a key. MarshalBinary and GobEncode are meant to round-trip the
// whole value, while a MarshalText may be a display form: big.Float's
// leaves out the precision, which its GobEncode keeps. regexp.Regexp, whose
// only method, MarshalText, leaves out POSIX (leftmost-longest) matching,
// is an error wrapping ErrUnsupported: pass the pattern, or a type with a
// CacheKey. These methods are not used for types the encoder can read field
// by field: on such a struct they may be promoted from one embedded field
// and ignore the others.
//
// time.Time is encoded by its instant, as described above, before any method.
//
// # Not supported
//
// Funcs, channels, unsafe.Pointer and uintptr values are errors wrapping
// ErrUnsupported, wherever they occur in the argument (uintptr because it
// usually holds an address, which differs between processes).
//
// # Format (stable)
//
// The format is versioned by its first byte (Version) and will not change
// within a version; version 2 (this one) added the dynamic type of an
// argument whose static type is an interface, which version 1 left out.
// After the version byte comes one value:
//
//	value   = nil | false | true | int | uint | float | complex | string
//	        | bytes | list | map | struct | ptr | iface | time | keyer
//	        | binary | text | gob
//	nil     = 0x00
//	false   = 0x01
//	true    = 0x02
//	int     = 0x03 varint(v)                      (zig-zag, as encoding/binary)
//	uint    = 0x04 uvarint(v)
//	float   = 0x05 8 bytes                        (float64 bits, big-endian)
//	complex = 0x06 8 bytes 8 bytes                (real, imaginary)
//	string  = 0x07 uvarint(len) bytes
//	bytes   = 0x08 uvarint(len) bytes             ([]byte, [N]byte and their named kinds)
//	list    = 0x09 uvarint(n) value{n}            (other slices and arrays)
//	map     = 0x0a uvarint(n) (value value){n}    (sorted by key bytes, then value bytes)
//	struct  = 0x0b uvarint(n) (uvarint(len) name value){n}
//	ptr     = 0x0c value                          (a non-nil pointer; nil is nil)
//	iface   = 0x0d uvarint(len) typename value    (a non-nil value of an interface type)
//	time    = 0x0e varint(unix seconds) uvarint(nanoseconds)
//	keyer   = 0x0f uvarint(len) bytes             (CacheKey)
//	binary  = 0x10 uvarint(len) bytes             (MarshalBinary)
//	text    = 0x11 uvarint(len) bytes             (MarshalText)
//	gob     = 0x12 uvarint(len) bytes             (GobEncode)
//
// The gob value came within version 2: it changed the keys of the types
// that have GobEncode and MarshalText but no MarshalBinary (math/big's Int,
// Float and Rat), which MarshalText had keyed, and of no other type.
//
// Every value is self-delimiting (a tag, then lengths or counts before
// contents), so a sequence of values is injective too: ["a","bc"] and
// ["ab","c"] differ, as do struct{A *int} with A nil and with A pointing to 0.
//
// # Concurrency
//
// Every function of the package is safe for concurrent use.
package argkey

import (
	"bytes"
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"
)

// Version is the first byte of every encoding: the version of the format.
// Version 1 encoded an argument of an interface type by its value only, so
// that Celsius(100) and Fahrenheit(100) passed as any shared a key.
const Version byte = 2

// Errors the encoder returns, wrapped with the name of the type at fault.
var (
	// ErrUnsupported reports a value that cannot be encoded: a func, chan,
	// unsafe.Pointer or uintptr, a struct with unexported fields that does
	// not choose its own key (or whose only method loses state, as
	// regexp.Regexp's), or a value nested too deep or too large.
	ErrUnsupported = errors.New("argkey: unsupported type")
	// ErrCycle reports a value that contains itself.
	ErrCycle = errors.New("argkey: cyclic value")
)

// Keyer is implemented by types that choose their own key. CacheKey must be
// deterministic: equal values give equal strings in every process.
type Keyer interface {
	CacheKey() string
}

// Tags of the format; see the package documentation.
const (
	tagNil byte = iota
	tagFalse
	tagTrue
	tagInt
	tagUint
	tagFloat
	tagComplex
	tagString
	tagBytes
	tagList
	tagMap
	tagStruct
	tagPtr
	tagIface
	tagTime
	tagKeyer
	tagBinary
	tagText
	tagGob
)

// Append appends the encoding of v (the version byte, then v's value, as a
// value of its dynamic type: without the type's name) to dst and returns the
// extended slice. On error it returns dst unchanged. Values of two types may
// share an encoding (int(1) and int64(1) do); AppendOf[any] tells them apart.
func Append(dst []byte, v any) ([]byte, error) {
	if out, ok := appendBuiltin(append(dst, Version), v); ok {
		return out, nil
	}
	if v == nil {
		return append(dst, Version, tagNil), nil
	}
	rv := reflect.ValueOf(v)
	return encodeReflect(dst, rv, infoOf(rv.Type()))
}

// scratch holds the buffers the reflective encoder writes into. The
// encoder is recursive, and the compiler lets no buffer through recursive
// calls without moving it to the heap: encoding into a pooled buffer and
// copying the result keeps the caller's dst (often on its stack) where it is.
// It holds the encoder's scratch space for sorting maps too.
var scratch = sync.Pool{New: func() any { return new(scratchBufs) }}

type scratchBufs struct {
	out   []byte
	aside []byte
	maps  []mapScratch
}

// Bounds on what a pooled scratchBufs keeps: a key of an argument is small;
// an unusually large one's buffers are left to the garbage collector.
const (
	maxPooledOut   = 64 << 10
	maxPooledAside = 32 << 10 // bytes of encoded keys, all levels together
	maxPooledLevel = 8        // levels of nested maps
	maxPooledPairs = 256      // pairs, per level
)

// encodeReflect appends Version and the encoding of v to dst, or returns dst
// unchanged and an error.
func encodeReflect(dst []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	s := scratch.Get().(*scratchBufs)
	e := encoder{sorting: s.maps, aside: s.aside[:0]}
	buf, err := e.value(append(s.out[:0], Version), v, ti)
	if err == nil {
		dst = append(dst, buf...)
	}
	if cap(buf) <= maxPooledOut {
		s.out = buf
	} else {
		s.out = nil
	}
	if cap(e.aside) <= maxPooledAside {
		s.aside = e.aside[:0]
	} else {
		s.aside = nil
	}
	// Levels past maxPooledLevel are dropped with their backing array: a
	// slice of it cut to maxPooledLevel would keep the deeper levels' buffers,
	// and the argument their pairs point into, reachable from the pool.
	if cap(e.sorting) > maxPooledLevel {
		s.maps = append([]mapScratch(nil), e.sorting[:min(len(e.sorting), maxPooledLevel)]...)
		clear(e.sorting[:cap(e.sorting)])
	} else {
		s.maps = e.sorting
	}
	for i := range s.maps {
		m := &s.maps[i]
		if cap(m.pairs) > maxPooledPairs {
			m.pairs = nil
		}
		clear(m.pairs[:cap(m.pairs)]) // drop references to the argument
	}
	scratch.Put(s)
	return dst, err
}

// AppendOf appends the encoding of v as a value of its static type T. When T
// is not an interface type it gives the same bytes as Append(dst, v), without
// reflection or allocation for strings, []byte, booleans, integers, floats
// and time.Time, and without allocation for structs, arrays and named types
// of those whose fields need none. When T is an interface type (any, error,
// fmt.Stringer), it encodes v's dynamic type's name and then its value (nil:
// nil), without allocation for the predeclared types and time.Time: values
// of two dynamic types never share an encoding.
func AppendOf[T any](dst []byte, v T) ([]byte, error) {
	if out, ok := appendBuiltinPtr(append(dst, Version), any(&v)); ok {
		return out, nil
	}
	return appendTyped(dst, v, infoOf(reflect.TypeFor[T]()))
}

// Encoder is AppendOf for one type T, with what it needs to know of T found
// once, when it is made, rather than on every call. Make it with EncoderOf;
// it is safe for concurrent use.
type Encoder[T any] struct {
	ti      *typeInfo
	builtin bool // appendBuiltinPtr encodes some values of T (every one, unless T is an interface)
}

// EncoderOf returns the Encoder of T.
func EncoderOf[T any]() Encoder[T] {
	t := reflect.TypeFor[T]()
	var zero T
	_, builtin := appendBuiltinPtr(nil, any(&zero))
	return Encoder[T]{ti: infoOf(t), builtin: builtin || t.Kind() == reflect.Interface}
}

// Append appends the encoding of v to dst, as AppendOf does: the same
// bytes, and the same errors.
func (e Encoder[T]) Append(dst []byte, v T) ([]byte, error) {
	if e.builtin {
		if out, ok := appendBuiltinPtr(append(dst, Version), any(&v)); ok {
			return out, nil
		}
	}
	return appendTyped(dst, v, e.ti)
}

// appendTyped is AppendOf for a type appendBuiltinPtr does not encode (or
// an interface type holding such a value), of info ti.
func appendTyped[T any](dst []byte, v T, ti *typeInfo) ([]byte, error) {
	if ti.flat != nil {
		return appendFlat(append(dst, Version), unsafe.Pointer(&v), ti), nil
	}
	p, _ := ti.pool.Get().(*T)
	if p == nil {
		p = new(T)
	}
	*p = v
	rv := reflect.ValueOf(p).Elem()
	var (
		out []byte
		err error
	)
	// An interface-kinded rv (T is an interface type) is encoded as one
	// inside an argument is: nil, or its dynamic type's name and value.
	out, err = encodeReflect(dst, rv, ti)
	var zero T
	*p = zero // drop references before pooling
	ti.pool.Put(p)
	return out, err
}

// appendBuiltin encodes the predeclared types (which have no methods) and
// time.Time without reflection. It reports false for every other type.
func appendBuiltin(dst []byte, v any) ([]byte, bool) {
	switch x := v.(type) {
	case string:
		return appendLen(dst, tagString, x), true
	case []byte:
		return appendLen(dst, tagBytes, x), true
	case bool:
		return appendBool(dst, x), true
	case int:
		return appendInt(dst, int64(x)), true
	case int64:
		return appendInt(dst, x), true
	case int32:
		return appendInt(dst, int64(x)), true
	case int16:
		return appendInt(dst, int64(x)), true
	case int8:
		return appendInt(dst, int64(x)), true
	case uint:
		return appendUint(dst, uint64(x)), true
	case uint64:
		return appendUint(dst, x), true
	case uint32:
		return appendUint(dst, uint64(x)), true
	case uint16:
		return appendUint(dst, uint64(x)), true
	case uint8:
		return appendUint(dst, uint64(x)), true
	case float64:
		return appendFloat(append(dst, tagFloat), x), true
	case float32:
		return appendFloat(append(dst, tagFloat), float64(x)), true
	case time.Time:
		return appendTime(dst, x), true
	}
	return dst, false
}

// appendBuiltinPtr is appendBuiltin for a pointer to the value: a pointer
// goes into an interface without the allocation that boxing a string or a
// slice costs.
func appendBuiltinPtr(dst []byte, p any) ([]byte, bool) {
	switch x := p.(type) {
	case *string:
		return appendLen(dst, tagString, *x), true
	case *[]byte:
		return appendLen(dst, tagBytes, *x), true
	case *bool:
		return appendBool(dst, *x), true
	case *int:
		return appendInt(dst, int64(*x)), true
	case *int64:
		return appendInt(dst, *x), true
	case *int32:
		return appendInt(dst, int64(*x)), true
	case *int16:
		return appendInt(dst, int64(*x)), true
	case *int8:
		return appendInt(dst, int64(*x)), true
	case *uint:
		return appendUint(dst, uint64(*x)), true
	case *uint64:
		return appendUint(dst, *x), true
	case *uint32:
		return appendUint(dst, uint64(*x)), true
	case *uint16:
		return appendUint(dst, uint64(*x)), true
	case *uint8:
		return appendUint(dst, uint64(*x)), true
	case *float64:
		return appendFloat(append(dst, tagFloat), *x), true
	case *float32:
		return appendFloat(append(dst, tagFloat), float64(*x)), true
	case *time.Time:
		return appendTime(dst, *x), true
	case *any:
		return appendBuiltinIface(dst, *x)
	}
	return dst, false
}

// appendBuiltinIface encodes v, held in an interface, as the iface value
// (tag, dynamic type's name, value) when its dynamic type is one that
// appendBuiltin encodes, or nil. It reports false for every other type.
func appendBuiltinIface(dst []byte, v any) ([]byte, bool) {
	if v == nil {
		return append(dst, tagNil), true
	}
	name := builtinName(v)
	if name == "" {
		return dst, false
	}
	dst = binary.AppendUvarint(append(dst, tagIface), uint64(len(name)))
	return appendBuiltin(append(dst, name...), v)
}

// builtinName is typeName of the dynamic type of v for the types that
// appendBuiltin encodes, and "" for the others.
func builtinName(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case []byte:
		return "[]uint8"
	case bool:
		return "bool"
	case int:
		return "int"
	case int64:
		return "int64"
	case int32:
		return "int32"
	case int16:
		return "int16"
	case int8:
		return "int8"
	case uint:
		return "uint"
	case uint64:
		return "uint64"
	case uint32:
		return "uint32"
	case uint16:
		return "uint16"
	case uint8:
		return "uint8"
	case float64:
		return "float64"
	case float32:
		return "float32"
	case time.Time:
		return "time.Time"
	}
	return ""
}

func appendLen[S string | []byte](dst []byte, tag byte, s S) []byte {
	dst = append(dst, tag)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, tagTrue)
	}
	return append(dst, tagFalse)
}

func appendInt(dst []byte, i int64) []byte {
	return binary.AppendVarint(append(dst, tagInt), i)
}

func appendUint(dst []byte, u uint64) []byte {
	return binary.AppendUvarint(append(dst, tagUint), u)
}

// canonicalNaN is the one encoding of every NaN.
const canonicalNaN = 0x7ff8000000000001

func appendFloat(dst []byte, f float64) []byte {
	var bits uint64
	switch {
	case f != f:
		bits = canonicalNaN
	case f == 0:
		bits = 0 // -0 and +0
	default:
		bits = math.Float64bits(f)
	}
	return binary.BigEndian.AppendUint64(dst, bits)
}

func appendTime(dst []byte, t time.Time) []byte {
	dst = binary.AppendVarint(append(dst, tagTime), t.Unix())
	return binary.AppendUvarint(dst, uint64(t.Nanosecond()))
}

// how says how values of a type are encoded.
type how uint8

const (
	byKind how = iota
	byKeyer
	byBinary
	byText
	byGob
	byTime
	unsupported
)

// fieldInfo is one exported struct field.
type fieldInfo struct {
	index int
	name  []byte // uvarint(len) name, ready to append
	info  *typeInfo
}

// typeInfo is what the encoder needs of a type, computed once per type.
type typeInfo struct {
	t       reflect.Type
	how     how
	ptrRecv bool   // the method has a pointer receiver
	bytes   bool   // a slice or array of byte-kind elements without methods
	name    []byte // uvarint(len) canonical type name, for interfaces
	elem    *typeInfo
	key     *typeInfo
	fields  []fieldInfo
	err     error // why the type is unsupported
	pool    sync.Pool

	// flat is set for a type that AppendOf encodes straight from memory:
	// a scalar kind (kind set, one field at offset 0 with no name) or a
	// struct of such fields.
	flat     []flatField
	isStruct bool
}

// flatField is a field that AppendOf reads through its offset, without
// reflection: a boolean, an integer, a float, a string, a byte slice or a
// time.Time, of a type without key methods.
type flatField struct {
	name []byte // uvarint(len) name, ready to append
	off  uintptr
	kind reflect.Kind // reflect.Struct stands for time.Time
}

var (
	// infos maps reflect.Type to *typeInfo. It is copied on write: types are
	// few and built once, and a plain map read is the fastest lookup.
	infos   atomic.Pointer[map[reflect.Type]*typeInfo]
	buildMu sync.Mutex // serializes building and publishing infos
)

var (
	keyerType  = reflect.TypeFor[Keyer]()
	binaryType = reflect.TypeFor[encoding.BinaryMarshaler]()
	textType   = reflect.TypeFor[encoding.TextMarshaler]()
	gobType    = reflect.TypeFor[gobEncoder]()
	timeType   = reflect.TypeFor[time.Time]()
)

// gobEncoder is gob.GobEncoder, without importing encoding/gob.
type gobEncoder interface {
	GobEncode() ([]byte, error)
}

// lossy names the types whose only key method loses state that their
// methods use, and what it loses.
var lossy = map[[2]string]string{
	{"regexp", "Regexp"}: "its MarshalText leaves out POSIX (leftmost-longest) matching",
}

// infoOf returns the typeInfo of t, building it on first use.
func infoOf(t reflect.Type) *typeInfo {
	if m := infos.Load(); m != nil {
		if ti, ok := (*m)[t]; ok {
			return ti
		}
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	old := infos.Load()
	if old != nil {
		if ti, ok := (*old)[t]; ok {
			return ti
		}
	}
	building := map[reflect.Type]*typeInfo{}
	ti := build(t, building)
	m := make(map[reflect.Type]*typeInfo, len(building))
	if old != nil {
		maps.Copy(m, *old)
	}
	maps.Copy(m, building)
	infos.Store(&m)
	return ti
}

// build computes the typeInfo of t; building holds the infos being built, so
// that a recursive type points back to its own info. Called with buildMu held.
func build(t reflect.Type, building map[reflect.Type]*typeInfo) *typeInfo {
	if m := infos.Load(); m != nil {
		if ti, ok := (*m)[t]; ok {
			return ti
		}
	}
	if ti, ok := building[t]; ok {
		return ti
	}
	ti := &typeInfo{t: t}
	building[t] = ti
	name := typeName(t)
	ti.name = binary.AppendUvarint(nil, uint64(len(name)))
	ti.name = append(ti.name, name...)

	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		switch {
		case t == timeType:
			ti.how = byTime
			return ti
		case t.Implements(keyerType) && !Promoted(t, t, "CacheKey"):
			ti.how = byKeyer
			return ti
		case reflect.PointerTo(t).Implements(keyerType) && !Promoted(t, reflect.PointerTo(t), "CacheKey"):
			ti.how, ti.ptrRecv = byKeyer, true
			return ti
		}
	}
	if t.Kind() == reflect.Struct && hasUnexported(t) {
		// Marshalers only stand in for a structure the encoder cannot read:
		// on a struct with exported fields they may be promoted from one
		// embedded field and ignore the others. Those meant to round-trip
		// the whole value come first.
		if why, ok := lossy[[2]string{t.PkgPath(), t.Name()}]; ok {
			ti.how = unsupported
			ti.err = fmt.Errorf("argkey: %s: %w: %s "+
				"(pass the pattern as a string, or a type with a CacheKey() string method)",
				t, ErrUnsupported, why)
			return ti
		}
		switch {
		case t.Implements(binaryType) && !Promoted(t, t, "MarshalBinary"):
			ti.how = byBinary
		case reflect.PointerTo(t).Implements(binaryType) && !Promoted(t, reflect.PointerTo(t), "MarshalBinary"):
			ti.how, ti.ptrRecv = byBinary, true
		case t.Implements(gobType) && !Promoted(t, t, "GobEncode"):
			ti.how = byGob
		case reflect.PointerTo(t).Implements(gobType) && !Promoted(t, reflect.PointerTo(t), "GobEncode"):
			ti.how, ti.ptrRecv = byGob, true
		case t.Implements(textType) && !Promoted(t, t, "MarshalText"):
			ti.how = byText
		case reflect.PointerTo(t).Implements(textType) && !Promoted(t, reflect.PointerTo(t), "MarshalText"):
			ti.how, ti.ptrRecv = byText, true
		default:
			ti.how = unsupported
			ti.err = fmt.Errorf("argkey: %s has unexported fields: %w "+
				"(give the type a CacheKey() string method, or MarshalBinary, GobEncode or MarshalText)",
				t, ErrUnsupported)
		}
		return ti
	}
	switch t.Kind() {
	case reflect.Func, reflect.Chan, reflect.UnsafePointer, reflect.Uintptr:
		ti.how = unsupported
		ti.err = fmt.Errorf("argkey: %s: %w (%s)", t, ErrUnsupported, t.Kind())
	case reflect.Pointer, reflect.Slice, reflect.Array:
		ti.elem = build(t.Elem(), building)
		if t.Kind() != reflect.Pointer && t.Elem().Kind() == reflect.Uint8 && ti.elem.how == byKind {
			ti.bytes = true
		}
	case reflect.Map:
		ti.key = build(t.Key(), building)
		ti.elem = build(t.Elem(), building)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Name == "_" {
				continue
			}
			fi := fieldInfo{index: i, info: build(f.Type, building)}
			fi.name = binary.AppendUvarint(nil, uint64(len(f.Name)))
			fi.name = append(fi.name, f.Name...)
			ti.fields = append(ti.fields, fi)
		}
		ti.isStruct = true
		ti.flat = make([]flatField, 0, len(ti.fields))
		for _, fi := range ti.fields {
			kind, ok := flatKind(fi.info)
			if !ok {
				ti.flat = nil
				break
			}
			ti.flat = append(ti.flat, flatField{name: fi.name, off: t.Field(fi.index).Offset, kind: kind})
		}
	default:
		if kind, ok := flatKind(ti); ok {
			ti.flat = []flatField{{kind: kind}}
		}
	}
	return ti
}

// flatKind reports whether values of ti's type can be read straight from
// memory by appendFlat, and as what.
func flatKind(ti *typeInfo) (reflect.Kind, bool) {
	if ti.how == byTime {
		return reflect.Struct, true
	}
	if ti.how != byKind {
		return 0, false
	}
	switch k := ti.t.Kind(); k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.String:
		return k, true
	case reflect.Slice:
		return k, ti.bytes
	}
	return 0, false
}

// appendFlat appends the encoding of the value at p, of a type whose info
// has flat set: the same bytes as the reflective encoder writes, without
// reflection, pools or recursion (p stays on its caller's stack).
func appendFlat(dst []byte, p unsafe.Pointer, ti *typeInfo) []byte {
	if ti.isStruct {
		dst = binary.AppendUvarint(append(dst, tagStruct), uint64(len(ti.flat)))
	}
	for i := range ti.flat {
		f := &ti.flat[i]
		dst = append(dst, f.name...)
		q := unsafe.Add(p, f.off)
		switch f.kind {
		case reflect.Bool:
			dst = appendBool(dst, *(*bool)(q))
		case reflect.Int:
			dst = appendInt(dst, int64(*(*int)(q)))
		case reflect.Int8:
			dst = appendInt(dst, int64(*(*int8)(q)))
		case reflect.Int16:
			dst = appendInt(dst, int64(*(*int16)(q)))
		case reflect.Int32:
			dst = appendInt(dst, int64(*(*int32)(q)))
		case reflect.Int64:
			dst = appendInt(dst, *(*int64)(q))
		case reflect.Uint:
			dst = appendUint(dst, uint64(*(*uint)(q)))
		case reflect.Uint8:
			dst = appendUint(dst, uint64(*(*uint8)(q)))
		case reflect.Uint16:
			dst = appendUint(dst, uint64(*(*uint16)(q)))
		case reflect.Uint32:
			dst = appendUint(dst, uint64(*(*uint32)(q)))
		case reflect.Uint64:
			dst = appendUint(dst, *(*uint64)(q))
		case reflect.Float32:
			dst = appendFloat(append(dst, tagFloat), float64(*(*float32)(q)))
		case reflect.Float64:
			dst = appendFloat(append(dst, tagFloat), *(*float64)(q))
		case reflect.String:
			dst = appendLen(dst, tagString, *(*string)(q))
		case reflect.Slice:
			dst = appendLen(dst, tagBytes, *(*[]byte)(q))
		case reflect.Struct:
			dst = appendTime(dst, *(*time.Time)(q))
		}
	}
	return dst
}

// hasUnexported reports whether struct type t has an unexported field other
// than the blank "_".
func hasUnexported(t reflect.Type) bool {
	for i := range t.NumField() {
		if f := t.Field(i); f.Name != "_" && !f.IsExported() {
			return true
		}
	}
	return false
}

// typeName is a name of t that differs for every two types: named types by
// package path and name, others by their structure.
func typeName(t reflect.Type) string {
	if t.Name() != "" {
		if t.PkgPath() == "" {
			return t.Name() // predeclared
		}
		return t.PkgPath() + "." + t.Name()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return "*" + typeName(t.Elem())
	case reflect.Slice:
		return "[]" + typeName(t.Elem())
	case reflect.Array:
		return fmt.Sprintf("[%d]%s", t.Len(), typeName(t.Elem()))
	case reflect.Map:
		return "map[" + typeName(t.Key()) + "]" + typeName(t.Elem())
	case reflect.Chan:
		return t.ChanDir().String() + " " + typeName(t.Elem())
	case reflect.Struct:
		var b bytes.Buffer
		b.WriteString("struct {")
		for i := range t.NumField() {
			f := t.Field(i)
			if i > 0 {
				b.WriteString(";")
			}
			if f.PkgPath != "" {
				b.WriteString(f.PkgPath + ".")
			}
			fmt.Fprintf(&b, " %s %s %q", f.Name, typeName(f.Type), f.Tag)
		}
		b.WriteString(" }")
		return b.String()
	}
	return t.String() // interfaces and funcs: never a dynamic type we encode by name
}

// encoder holds the state of cycle detection. The output is passed along and
// returned, never stored in the encoder: a buffer stored through a pointer
// escapes to the heap, and callers encode into buffers on their stack.
type encoder struct {
	depth int                  // levels on the current path (see descend)
	nodes int                  // levels entered in all
	moved int                  // bytes moved down within keys and tied values (see move)
	seen  map[seenKey]struct{} // references on the current path, past cycleDepth

	// sorting holds, for each map being encoded on the current path with
	// more than one pair (the outermost first), its pairs: see mapValue.
	sorting []mapScratch
	maps    int // maps being sorted on the current path: len(sorting) in use

	// aside holds the encodings of the keys (and of the values of pairs
	// whose keys encode alike) of the maps being sorted on the current
	// path, the outermost first: see mapValue. inAside counts the keys and
	// tied values being encoded on the current path: while it is not 0,
	// the buffer the encoder writes into is aside (grown from it), not the
	// output.
	aside   []byte
	inAside int
}

// mapScratch is the scratch space of one map being sorted: its pairs.
type mapScratch struct {
	pairs []mapPair
}

// mapPair is a pair of a map being sorted: where its key's encoding is in
// the buffer it was encoded aside into, and its value, still to encode.
type mapPair struct {
	k [2]int // [start,end)
	v reflect.Value
}

type seenKey struct {
	ptr uintptr
	len int
	typ reflect.Type
}

// cycleDepth is how many levels deep the encoder goes before it starts
// recording the references it visits: shallow values, the common case, pay
// nothing for cycle detection.
const cycleDepth = 32

// maxDepth is how many levels deep the encoder goes at all: a linked list
// of encoding/json's nesting limit (10,000 nodes, a pointer and a struct
// each). Each level is a few frames of recursion: far deeper, a value (a
// list or an expression tree of millions of nodes) would overflow the
// stack, which is fatal, not a panic.
const maxDepth = 20000

// maxNodes is how many levels the encoder enters in all: a value reached
// through two pointers is encoded twice, so that shared subtrees would
// otherwise make a key exponentially long.
const maxNodes = 1 << 20

// maxMoved is how many bytes the encoder moves down, in all, within the
// keys and tied values of maps (see mapValue): a byte nested in d such
// maps is moved d times, so that an argument a client can send (a 1 MB
// string in the values of NaN keys nested 9,000 maps deep) took seconds of
// CPU for one key. Arguments whose maps have keys that neither encode alike
// nor hold maps move nothing.
const maxMoved = 64 << 20

// move counts n bytes moved down, reporting an error past maxMoved in all.
func (e *encoder) move(v reflect.Value, n int) error {
	e.moved += n
	if e.moved > maxMoved {
		return fmt.Errorf("argkey: %s: maps whose keys encode alike, or hold maps, nested too deep for their size "+
			"(more than %d bytes moved to order them): %w", v.Type(), maxMoved, ErrUnsupported)
	}
	return nil
}

// descend counts a level entered, a pointer, map, slice, array, struct or
// value in an interface, reporting an error past maxDepth levels deep or
// maxNodes in all; the caller decrements e.depth when it leaves the level.
func (e *encoder) descend(v reflect.Value) error {
	e.depth++
	e.nodes++
	if e.depth > maxDepth {
		return fmt.Errorf("argkey: %s: nested deeper than %d levels: %w", v.Type(), maxDepth, ErrUnsupported)
	}
	if e.nodes > maxNodes {
		return fmt.Errorf("argkey: %s: more than %d pointers, maps, slices, arrays, structs and interface values in all "+
			"(values reached twice count twice): %w", v.Type(), maxNodes, ErrUnsupported)
	}
	return nil
}

// enter descends into a reference, recording it on the current path and
// reporting ErrCycle if it is already there. leave undoes it.
func (e *encoder) enter(v reflect.Value, n int) error {
	if err := e.descend(v); err != nil {
		return err
	}
	if e.depth <= cycleDepth {
		return nil
	}
	if e.seen == nil {
		e.seen = map[seenKey]struct{}{}
	}
	k := seenKey{v.Pointer(), n, v.Type()}
	if _, ok := e.seen[k]; ok {
		return fmt.Errorf("argkey: %s: %w", v.Type(), ErrCycle)
	}
	e.seen[k] = struct{}{}
	return nil
}

func (e *encoder) leave(v reflect.Value, n int) {
	if e.depth > cycleDepth {
		delete(e.seen, seenKey{v.Pointer(), n, v.Type()})
	}
	e.depth--
}

// value appends the encoding of v, whose type's info is ti, to buf.
func (e *encoder) value(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	switch ti.how {
	case unsupported:
		return buf, ti.err
	case byTime:
		var t time.Time
		if v.CanAddr() {
			t = *v.Addr().Interface().(*time.Time)
		} else {
			t = v.Interface().(time.Time)
		}
		return appendTime(buf, t), nil
	case byKeyer, byBinary, byText, byGob:
		return appendMethod(buf, v, ti)
	}
	switch v.Kind() {
	case reflect.Bool:
		return appendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(buf, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return appendUint(buf, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(append(buf, tagFloat), v.Float()), nil
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return appendFloat(appendFloat(append(buf, tagComplex), real(c)), imag(c)), nil
	case reflect.String:
		return appendLen(buf, tagString, v.String()), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		if err := e.enter(v, 0); err != nil {
			return buf, err
		}
		buf, err := e.value(append(buf, tagPtr), v.Elem(), ti.elem)
		e.leave(v, 0)
		return buf, err
	case reflect.Interface:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		v = v.Elem()
		if err := e.descend(v); err != nil {
			return buf, err
		}
		di := infoOf(v.Type())
		buf = append(buf, tagIface)
		buf, err := e.value(append(buf, di.name...), v, di)
		e.depth--
		return buf, err
	case reflect.Slice:
		n := v.Len()
		if ti.bytes {
			return appendLen(buf, tagBytes, v.Bytes()), nil
		}
		if n == 0 { // nil or empty
			return append(buf, tagList, 0), nil
		}
		if err := e.enter(v, n); err != nil {
			return buf, err
		}
		buf, err := e.list(buf, v, n, ti.elem)
		e.leave(v, n)
		return buf, err
	case reflect.Array:
		n := v.Len()
		if !ti.bytes {
			if err := e.descend(v); err != nil {
				return buf, err
			}
			buf, err := e.list(buf, v, n, ti.elem)
			e.depth--
			return buf, err
		}
		buf = binary.AppendUvarint(append(buf, tagBytes), uint64(n))
		if v.CanAddr() {
			return append(buf, v.Bytes()...), nil
		}
		for i := range n {
			buf = append(buf, byte(v.Index(i).Uint()))
		}
		return buf, nil
	case reflect.Map:
		if err := e.enter(v, 0); err != nil {
			return buf, err
		}
		buf, err := e.mapValue(buf, v, ti)
		e.leave(v, 0)
		return buf, err
	case reflect.Struct:
		if err := e.descend(v); err != nil {
			return buf, err
		}
		buf = binary.AppendUvarint(append(buf, tagStruct), uint64(len(ti.fields)))
		var err error
		for _, f := range ti.fields {
			if buf, err = e.value(append(buf, f.name...), v.Field(f.index), f.info); err != nil {
				return buf, err
			}
		}
		e.depth--
		return buf, nil
	}
	return buf, fmt.Errorf("argkey: %s: %w", v.Type(), ErrUnsupported)
}

func (e *encoder) list(buf []byte, v reflect.Value, n int, elem *typeInfo) ([]byte, error) {
	buf = binary.AppendUvarint(append(buf, tagList), uint64(n))
	var err error
	for i := range n {
		if buf, err = e.value(buf, v.Index(i), elem); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// mapValue encodes a map's pairs sorted by the bytes of their keys (then of
// their values: a map may hold several NaN keys, or pointers to equal
// values). It encodes the keys aside, sorts the pairs by them, then encodes
// each value once, straight into buf, in that order: the bytes of a value
// nested in d maps are written once, not copied once per map (which made a
// key d times the size of the argument to compute). Only the values of
// pairs whose keys encode alike go aside too, to be compared (see tied).
//
// Aside is e.aside, after the keys of the enclosing maps, when buf is the
// output. When buf is itself aside (this map is within a key, or a tied
// value, of an enclosing map), this map's keys go after the end of buf, its
// pairs after them, and the pairs are then moved down over the keys: a
// byte within keys of d nested maps is copied d times, as before, but the
// space it takes stays one copy of it (two while it is moved), not one per
// map (a buffer per level made a 314 KB string nested 4,000 maps deep, in
// the values of NaN keys, allocate 1.9 GB).
func (e *encoder) mapValue(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	n := v.Len()
	buf = binary.AppendUvarint(append(buf, tagMap), uint64(n))
	if n == 0 {
		return buf, nil
	}
	it := v.MapRange()
	var err error
	if n == 1 {
		it.Next()
		if buf, err = e.value(buf, it.Key(), ti.key); err != nil {
			return buf, err
		}
		return e.value(buf, it.Value(), ti.elem)
	}
	// The scratch space of this map; maps within its keys and values use
	// the next level's.
	level := e.maps
	if level == len(e.sorting) {
		e.sorting = append(e.sorting, mapScratch{})
	}
	e.maps++
	pairs := e.sorting[level].pairs[:0]
	nested := e.inAside > 0
	keys := e.aside
	if nested {
		keys = buf
	}
	start := len(keys)
	e.inAside++
	for it.Next() {
		p := len(keys)
		if keys, err = e.value(keys, it.Key(), ti.key); err != nil {
			return buf, err
		}
		pairs = append(pairs, mapPair{[2]int{p, len(keys)}, it.Value()})
	}
	e.inAside--
	slices.SortFunc(pairs, func(a, b mapPair) int {
		return bytes.Compare(keys[a.k[0]:a.k[1]], keys[b.k[0]:b.k[1]])
	})
	// Each append below may move buf (and the values of the pairs may move
	// e.aside): keys stays readable, as the array it points into keeps the
	// keys' bytes, which nothing writes over.
	if nested {
		buf = keys
	} else {
		e.aside = keys
	}
	out := len(buf)
	for i := 0; i < len(pairs); {
		key := keys[pairs[i].k[0]:pairs[i].k[1]]
		j := i + 1
		for j < len(pairs) && bytes.Equal(key, keys[pairs[j].k[0]:pairs[j].k[1]]) {
			j++
		}
		if j == i+1 {
			buf, err = e.value(append(buf, key...), pairs[i].v, ti.elem)
		} else {
			buf, err = e.tied(buf, key, pairs[i:j], ti.elem)
		}
		if err != nil {
			return buf, err
		}
		i = j
	}
	if nested {
		if err := e.move(v, len(buf)-out); err != nil {
			return buf, err
		}
		buf = buf[:start+copy(buf[start:], buf[out:])]
	} else {
		e.aside = e.aside[:start]
	}
	e.sorting[level].pairs = pairs
	e.maps--
	return buf, nil
}

// tied appends to buf the pairs of a map whose keys encode alike as key,
// sorted by the encodings of their values, which it writes aside to
// compare them, as mapValue does its keys.
func (e *encoder) tied(buf, key []byte, pairs []mapPair, elem *typeInfo) ([]byte, error) {
	nested := e.inAside > 0
	vals := e.aside
	if nested {
		vals = buf
	}
	start := len(vals)
	bounds := make([][2]int, len(pairs))
	var err error
	e.inAside++
	for i := range pairs {
		p := len(vals)
		if vals, err = e.value(vals, pairs[i].v, elem); err != nil {
			return buf, err
		}
		bounds[i] = [2]int{p, len(vals)}
	}
	e.inAside--
	slices.SortFunc(bounds, func(a, b [2]int) int {
		return bytes.Compare(vals[a[0]:a[1]], vals[b[0]:b[1]])
	})
	if nested {
		buf = vals
	}
	out := len(buf)
	for _, b := range bounds {
		buf = append(buf, key...)
		buf = append(buf, vals[b[0]:b[1]]...)
	}
	if nested {
		if err := e.move(pairs[0].v, len(buf)-out); err != nil {
			return buf, err
		}
		buf = buf[:start+copy(buf[start:], buf[out:])]
	} else {
		e.aside = vals[:start]
	}
	return buf, nil
}

// appendMethod encodes v with the key method its type implements.
func appendMethod(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	var recv any
	if ti.ptrRecv {
		// A copy, so that the method cannot keep a pointer into the caller's
		// value (or into a pooled box).
		p := reflect.New(ti.t)
		p.Elem().Set(v)
		recv = p.Interface()
	} else {
		recv = v.Interface()
	}
	var (
		b   []byte
		err error
		tag byte
	)
	switch ti.how {
	case byKeyer:
		return appendLen(buf, tagKeyer, recv.(Keyer).CacheKey()), nil
	case byBinary:
		tag = tagBinary
		b, err = recv.(encoding.BinaryMarshaler).MarshalBinary()
	case byGob:
		tag = tagGob
		b, err = recv.(gobEncoder).GobEncode()
	default:
		tag = tagText
		b, err = recv.(encoding.TextMarshaler).MarshalText()
	}
	if err != nil {
		return buf, fmt.Errorf("argkey: %s: %w", ti.t, err)
	}
	return appendLen(buf, tag, b), nil
}

// Check reports whether values of type t can be encoded, as far as the type
// says: it returns the error Append would return for a func, chan,
// unsafe.Pointer or uintptr, or a struct with unexported fields and no key
// method, anywhere in t outside interfaces. A nil error does not promise that
// every value encodes: an interface field may hold anything, and a value may
// contain a cycle or be nested or shared too deeply.
func Check(t reflect.Type) error {
	return check(infoOf(t), map[*typeInfo]bool{})
}

func check(ti *typeInfo, seen map[*typeInfo]bool) error {
	if ti == nil || seen[ti] {
		return nil
	}
	seen[ti] = true
	if ti.how == unsupported {
		return ti.err
	}
	if ti.how != byKind {
		return nil
	}
	for _, f := range ti.fields {
		if err := check(f.info, seen); err != nil {
			return err
		}
	}
	if err := check(ti.key, seen); err != nil {
		return err
	}
	return check(ti.elem, seen)
}

// Promoted reports whether the method name of rt (t or *t) is promoted
// from a field the struct t embeds rather than declared on t: such a
// method sees that field alone, so that struct{ Tenant; Page int } would
// be keyed by its Tenant, page 1 and page 2 alike. The compiler makes a
// wrapper for a promoted method, which the runtime reports as
// autogenerated; a method declared on t, generic or not, has its source.
// The root package's JSON codec asks it of the methods encoding/json
// calls, which on such a struct would write that field alone.
func Promoted(t, rt reflect.Type, name string) bool {
	if t.Kind() != reflect.Struct {
		return false
	}
	m, ok := rt.MethodByName(name)
	if !ok {
		return false
	}
	pc := m.Func.Pointer()
	f := runtime.FuncForPC(pc)
	if f == nil {
		return false
	}
	file, _ := f.FileLine(pc)
	return file == "<autogenerated>"
}
