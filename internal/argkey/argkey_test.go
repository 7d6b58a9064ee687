package argkey_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/big"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/argkey"
	"github.com/go-caching/caching/internal/testutil"
)

func enc(t testing.TB, v any) []byte {
	t.Helper()
	b, err := argkey.Append(nil, v)
	require.NoError(t, err)
	return b
}

// encOf encodes v by its static type T and checks it against the other
// paths: Append (by v's dynamic type) when T is not an interface; when T is
// any, the reflective encoder of an equivalent interface type (the fast path
// for any must give its bytes).
func encOf[T any](t testing.TB, v T) []byte {
	t.Helper()
	b, err := argkey.AppendOf(nil, v)
	require.NoError(t, err)
	b3, err := argkey.EncoderOf[T]().Append(nil, v)
	require.NoError(t, err)
	require.Equal(t, b, b3, "AppendOf and Encoder.Append differ for %T", v)
	if reflect.TypeFor[T]().Kind() == reflect.Interface {
		b2, err := argkey.AppendOf[anyish](nil, v)
		require.NoError(t, err)
		require.Equal(t, b2, b, "AppendOf[any] and the reflective encoder differ for %T", v)
		return b
	}
	b2, err := argkey.Append(nil, v)
	require.NoError(t, err)
	require.Equal(t, b2, b, "AppendOf and Append differ for %T", v)
	return b
}

// anyish is an interface type that the encoder handles by reflection.
type anyish interface{}

type Args struct {
	UserID int64
	Period string
	Tags   []string
	Opts   map[string]int
}

type WithPtr struct{ A *int }

type Inner struct{ X, Y int }
type Outer struct {
	Inner
	P    *Inner
	Any  any
	When time.Time
}

type UserID int64

type Node struct {
	Next *Node
	V    int
}

type hidden struct{ secret int }

type keyed struct{ secret int }

func (k keyed) CacheKey() string { return "k" + string(rune('0'+k.secret)) }

type ptrKeyed struct{ secret string }

func (k *ptrKeyed) CacheKey() string { return k.secret }

type WithKeyedField struct {
	K  keyed
	PK ptrKeyed
}

//lint:ignore U1000 the unexported field is why failing needs its MarshalText
type failing struct{ x int }

func (failing) MarshalText() ([]byte, error) { return nil, errors.New("no text") }

func ptr[T any](v T) *T { return &v }

// TestGolden pins the format: these bytes must never change within Version 2
// (keys written by one release are read by the next).
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		v    any
		hex  string
	}{
		{"nil", nil, "0200"},
		{"false", false, "0201"},
		{"true", true, "0202"},
		{"int 1", 1, "020302"},
		{"int -1", -1, "020301"},
		{"int8 1", int8(1), "020302"},
		{"uint 300", uint(300), "0204ac02"},
		{"float 1.5", 1.5, "02053ff8000000000000"},
		{"float -0", math.Copysign(0, -1), "02050000000000000000"},
		{"float NaN", math.NaN(), "02057ff8000000000001"},
		{"complex", complex(1, 0), "02063ff00000000000000000000000000000"},
		{"string", "ab", "02070261 62"},
		{"bytes", []byte("ab"), "0208026162"},
		{"byte array", [2]byte{'a', 'b'}, "0208026162"},
		{"list", []string{"a", "bc"}, "0209020701610702 6263"},
		{"nil slice", []int(nil), "020900"},
		{"map", map[string]int{"b": 2, "a": 1}, "020a02 070161 0302 070162 0304"},
		{"struct", WithPtr{A: ptr(0)}, "020b01 0141 0c0300"},
		{"struct nil ptr", WithPtr{}, "020b01 0141 00"},
		{"time", time.Unix(1, 5).UTC(), "020e0205"},
		{"keyer", keyed{secret: 1}, "020f026b31"},
		{"named int", UserID(7), "02030e"},
		{"iface in list", []any{1}, "020901 0d03 696e74 0302"},
	}
	// An argument of an interface type: its dynamic type's name, then its
	// value (0d = iface).
	ifaces := []struct {
		name string
		v    any
		hex  string
	}{
		{"any nil", nil, "0200"},
		{"any int 5", 5, "020d 03 696e74 030a"},
		{"any int64 5", int64(5), "020d 05 696e743634 030a"},
		{"any Duration 5", time.Duration(5), "020d 0d 74696d652e4475726174696f6e 030a"},
		{"any string", "ab", "020d 06 737472696e67 07026162"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hex.DecodeString(removeSpaces(tt.hex))
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(enc(t, tt.v)))
		})
	}
	for _, tt := range ifaces {
		t.Run(tt.name, func(t *testing.T) {
			want, err := hex.DecodeString(removeSpaces(tt.hex))
			require.NoError(t, err)
			assert.Equal(t, hex.EncodeToString(want), hex.EncodeToString(encOf(t, tt.v)))
		})
	}
}

func removeSpaces(s string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(" "), nil))
}

// TestEqualArgumentsEqualKeys: values a user considers equal encode the same.
func TestEqualArgumentsEqualKeys(t *testing.T) {
	loc := time.FixedZone("X", 3600)
	now := time.Now()
	tests := []struct {
		name string
		a, b any
	}{
		{"map insertion order", map[string]int{"a": 1, "b": 2, "c": 3}, map[string]int{"c": 3, "b": 2, "a": 1}},
		{"struct with map", Args{1, "m", []string{"x"}, map[string]int{"a": 1, "z": 2}}, Args{1, "m", []string{"x"}, map[string]int{"z": 2, "a": 1}}},
		{"nil and empty slice", []string(nil), []string{}},
		{"nil and empty map", map[int]int(nil), map[int]int{}},
		{"pointers to equal values", &Inner{1, 2}, &Inner{1, 2}},
		{"zero signs", 0.0, math.Copysign(0, -1)},
		{"NaNs", math.NaN(), math.Float64frombits(0x7ff0000000000002)},
		{"time location", now, now.In(loc)},
		{"time monotonic", now, now.Round(0)},
		{"int widths", int8(5), int64(5)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, enc(t, tt.a), enc(t, tt.b))
		})
	}
}

// TestUnequalArgumentsDiffer: values that differ never share an encoding.
func TestUnequalArgumentsDiffer(t *testing.T) {
	tests := []struct {
		name string
		a, b any
	}{
		{"string split", []string{"a", "bc"}, []string{"ab", "c"}},
		{"empty string element", []string{""}, []string{}},
		{"nil pointer vs pointer to zero", WithPtr{}, WithPtr{A: ptr(0)}},
		{"nil vs zero interface", []any{nil}, []any{0}},
		{"iface int vs int64", []any{1}, []any{int64(1)}},
		{"iface named type", []any{UserID(1)}, []any{int64(1)}},
		{"iface string vs bytes", []any{"a"}, []any{[]byte("a")}},
		{"signed vs unsigned", []any{1}, []any{uint(1)}},
		{"false vs absent field", Outer{Any: false}, Outer{}},
		{"embedded vs pointer", Outer{Inner: Inner{1, 0}}, Outer{P: &Inner{1, 0}}},
		{"map key/value swap", map[string]string{"a": "b"}, map[string]string{"b": "a"}},
		{"map split", map[string]string{"a": "bc"}, map[string]string{"ab": "c"}},
		{"time instants", time.Unix(1, 0), time.Unix(1, 1)},
		{"negative time", time.Unix(-1, 0), time.Unix(1, 0)},
		{"keyer", keyed{1}, keyed{2}},
		{"float", 1.0, math.Nextafter(1, 2)},
		{"list nesting", [][]int{{1}, {2}}, [][]int{{1, 2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.NotEqual(t, enc(t, tt.a), enc(t, tt.b))
		})
	}
}

func TestAppendOfAgreesWithAppend(t *testing.T) {
	encOf(t, "s")
	encOf(t, []byte("b"))
	encOf(t, 42)
	encOf(t, uint16(3))
	encOf(t, float32(1.25))
	encOf(t, true)
	encOf(t, time.Unix(5, 6))
	encOf(t, UserID(3))
	encOf(t, Inner{1, 2})
	encOf(t, &Inner{1, 2})
	encOf(t, (*Inner)(nil))
	encOf(t, Args{UserID: 1, Opts: map[string]int{"a": 1}})
	encOf[any](t, nil)
	encOf[any](t, "s")
	encOf[any](t, Inner{3, 4})
	encOf(t, [3]int{1, 2, 3})
	encOf(t, keyed{4})
	encOf(t, netip.MustParseAddr("10.0.0.1"))
}

func TestAppendKeepsPrefix(t *testing.T) {
	b, err := argkey.Append([]byte("prefix:"), "x")
	require.NoError(t, err)
	assert.Equal(t, "prefix:\x02\x07\x01x", string(b))
	b, err = argkey.AppendOf([]byte("prefix:"), Inner{})
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(b, []byte("prefix:\x02")))
	// On error, dst comes back unchanged.
	b, err = argkey.Append([]byte("prefix:"), hidden{})
	require.Error(t, err)
	assert.Equal(t, "prefix:", string(b))
}

func TestMethods(t *testing.T) {
	// Keyer with value and pointer receivers, as fields.
	a := enc(t, WithKeyedField{K: keyed{1}, PK: ptrKeyed{"x"}})
	b := enc(t, WithKeyedField{K: keyed{1}, PK: ptrKeyed{"y"}})
	assert.NotEqual(t, a, b)
	// Structs with unexported fields and a marshaler.
	assert.NotEqual(t, enc(t, netip.MustParseAddr("10.0.0.1")), enc(t, netip.MustParseAddr("10.0.0.2")))
	assert.Equal(t, enc(t, big.NewInt(12345)), enc(t, big.NewInt(12345)))
	assert.NotEqual(t, enc(t, big.NewInt(12345)), enc(t, big.NewInt(12346)))
	// A marshaler's error is returned.
	_, err := argkey.Append(nil, failing{})
	require.ErrorContains(t, err, "no text")
}

// TestEmbeddedTimeIsNotPromoted: a struct embedding time.Time has its
// MarshalBinary, promoted, but its other fields must still count.
func TestEmbeddedTimeIsNotPromoted(t *testing.T) {
	type Stamped struct {
		time.Time
		Name string
	}
	at := time.Unix(100, 0)
	assert.NotEqual(t, enc(t, Stamped{at, "a"}), enc(t, Stamped{at, "b"}))
}

func TestUnsupported(t *testing.T) {
	tests := []struct {
		name string
		v    any
	}{
		{"func", func() {}},
		{"chan", make(chan int)},
		{"uintptr", uintptr(1)},
		{"unexported fields", hidden{1}},
		{"func in struct", struct{ F func() }{}},
		{"chan in interface", []any{make(chan int)}},
		{"unexported in map value", map[string]hidden{"a": {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := argkey.Append(nil, tt.v)
			require.ErrorIs(t, err, argkey.ErrUnsupported)
			assert.Contains(t, err.Error(), "argkey: ")
		})
	}
	// The struct error says what to do.
	_, err := argkey.AppendOf(nil, hidden{})
	require.ErrorIs(t, err, argkey.ErrUnsupported)
	assert.Contains(t, err.Error(), "CacheKey")
	_, err2 := argkey.EncoderOf[hidden]().Append(nil, hidden{})
	assert.Equal(t, err, err2, "Encoder.Append and AppendOf fail alike")
}

func TestCycles(t *testing.T) {
	n := &Node{V: 1}
	n.Next = n
	_, err := argkey.Append(nil, n)
	require.ErrorIs(t, err, argkey.ErrCycle)

	s := []any{nil}
	s[0] = s
	_, err = argkey.Append(nil, s)
	require.ErrorIs(t, err, argkey.ErrCycle)

	m := map[string]any{}
	m["self"] = m
	_, err = argkey.Append(nil, m)
	require.ErrorIs(t, err, argkey.ErrCycle)

	// A long list is not a cycle, and a shared (acyclic) pointer is fine.
	var head *Node
	for i := range 1000 {
		head = &Node{Next: head, V: i}
	}
	_, err = argkey.Append(nil, head)
	require.NoError(t, err)
	shared := &Inner{1, 2}
	_, err = argkey.Append(nil, []*Inner{shared, shared})
	require.NoError(t, err)
}

// Values of type any, boxed once.
var anyInt, anyString, anyTime any = 42, "user:42", time.Unix(1, 2)

var (
	intEncoder   = argkey.EncoderOf[int]()
	innerEncoder = argkey.EncoderOf[Inner]()
	anyEncoder   = argkey.EncoderOf[any]()
)

func TestNoAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	buf := make([]byte, 0, 256)
	small := Inner{1, 2}
	bs := []byte("x")
	tests := []struct {
		name string
		f    func()
	}{
		{"string", func() { _, _ = argkey.AppendOf(buf[:0], "user:42") }},
		{"int", func() { _, _ = argkey.AppendOf(buf[:0], 42) }},
		{"bytes", func() { _, _ = argkey.AppendOf(buf[:0], bs) }},
		{"time", func() { _, _ = argkey.AppendOf(buf[:0], time.Unix(1, 2)) }},
		{"named int", func() { _, _ = argkey.AppendOf(buf[:0], UserID(3)) }},
		{"small struct", func() { _, _ = argkey.AppendOf(buf[:0], small) }},
		{"any int", func() { _, _ = argkey.AppendOf(buf[:0], anyInt) }},
		{"any string", func() { _, _ = argkey.AppendOf(buf[:0], anyString) }},
		{"any time", func() { _, _ = argkey.AppendOf(buf[:0], anyTime) }},
		{"encoder int", func() { _, _ = intEncoder.Append(buf[:0], 42) }},
		{"encoder small struct", func() { _, _ = innerEncoder.Append(buf[:0], small) }},
		{"encoder any int", func() { _, _ = anyEncoder.Append(buf[:0], anyInt) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.f() // warm the type cache and pool
			assert.Zero(t, testutil.AllocsPerRun(100, tt.f))
		})
	}
}

func FuzzStringSlices(f *testing.F) {
	f.Add("a\x00bc", "ab\x00c")
	f.Add("", "\x00")
	f.Add("x", "x")
	f.Fuzz(func(t *testing.T, a, b string) {
		// Split on NUL into slices: distinct slices must encode distinctly.
		sa, sb := split(a), split(b)
		ea, eb := enc(t, sa), enc(t, sb)
		if slices.Equal(sa, sb) != bytes.Equal(ea, eb) {
			t.Fatalf("%q vs %q: equal=%v, encodings equal=%v", sa, sb, slices.Equal(sa, sb), bytes.Equal(ea, eb))
		}
		// The same holds for interface elements and for AppendOf.
		ia, ib := toAny(sa), toAny(sb)
		if slices.Equal(sa, sb) != bytes.Equal(enc(t, ia), enc(t, ib)) {
			t.Fatalf("[]any %q vs %q", sa, sb)
		}
		oa, err := argkey.AppendOf(nil, sa)
		require.NoError(t, err)
		require.Equal(t, ea, oa)
	})
}

func FuzzMaps(f *testing.F) {
	f.Add("a=1,b=2", "b=2,a=1")
	f.Add("a=1", "a=2")
	f.Add("ab=1", "a=b1")
	f.Fuzz(func(t *testing.T, a, b string) {
		ma, mb := parseMap(a), parseMap(b)
		ea, eb := enc(t, ma), enc(t, mb)
		same := maps.Equal(ma, mb)
		if same != bytes.Equal(ea, eb) {
			t.Fatalf("%v vs %v: equal=%v, encodings equal=%v", ma, mb, same, bytes.Equal(ea, eb))
		}
		// Encoding is deterministic across calls (map iteration is random).
		require.Equal(t, ea, enc(t, ma))
		// Inside a struct too.
		if same != bytes.Equal(enc(t, Args{Opts: ma}), enc(t, Args{Opts: mb})) {
			t.Fatalf("struct with %v vs %v", ma, mb)
		}
	})
}

func split(s string) []string {
	if s == "" {
		return nil
	}
	return bytesToStrings(bytes.Split([]byte(s), []byte{0}))
}

func bytesToStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func parseMap(s string) map[string]int {
	m := map[string]int{}
	for _, kv := range bytes.Split([]byte(s), []byte(",")) {
		k, v, _ := bytes.Cut(kv, []byte("="))
		n := 0
		for _, c := range v {
			n = n*31 + int(c)
		}
		m[string(k)] = n
	}
	return m
}

func BenchmarkAppendOf(b *testing.B) {
	buf := make([]byte, 0, 256)
	b.Run("arg=string", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], "user:42")
		}
	})
	b.Run("arg=int", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], 42)
		}
	})
	b.Run("arg=any-int", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], anyInt)
		}
	})
	b.Run("arg=any-named", func(b *testing.B) {
		var v any = UserID(42)
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], v)
		}
	})
	b.Run("arg=small-struct", func(b *testing.B) {
		type Stats struct {
			UserID int64
			Period string
		}
		v := Stats{42, "monthly"}
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], v)
		}
	})
	b.Run("arg=struct-with-map", func(b *testing.B) {
		v := Args{UserID: 42, Period: "monthly", Tags: []string{"a", "b"}, Opts: map[string]int{"x": 1, "y": 2}}
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], v)
		}
	})
}

// BenchmarkAppendOfMap: maps of a few pairs (the common argument), and
// a JSON filter of maps nested in maps.
func BenchmarkAppendOfMap(b *testing.B) {
	buf := make([]byte, 0, 1024)
	for _, n := range []int{1, 2, 4, 8} {
		m := map[string]int{}
		for i := range n {
			m[string(rune('a'+i))+"key"] = i
		}
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				buf, _ = argkey.AppendOf(buf[:0], m)
			}
		})
	}
	filter := map[string]any{
		"status": "open",
		"price":  map[string]any{"gte": 10.0, "lt": 100.0},
		"tags":   map[string]any{"in": []any{"a", "b"}, "not": map[string]any{"eq": "c"}},
	}
	b.Run("filter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			buf, _ = argkey.AppendOf(buf[:0], filter)
		}
	})
}

func BenchmarkAppendOfParallel(b *testing.B) {
	type Stats struct {
		UserID int64
		Period string
	}
	v := Stats{42, "monthly"}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 0, 64)
		for pb.Next() {
			buf, _ = argkey.AppendOf(buf[:0], v)
		}
	})
}

var sink []byte

func TestNoAllocationsVariables(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	buf := make([]byte, 0, 256)
	s := string(bytes.Repeat([]byte("x"), 10))
	bs := []byte(s)
	type Stats struct {
		UserID int64
		Period string
	}
	st := Stats{42, s}
	var err error
	assert.Zero(t, testutil.AllocsPerRun(100, func() { sink, err = argkey.AppendOf(buf[:0], s) }))
	assert.Zero(t, testutil.AllocsPerRun(100, func() { sink, err = argkey.AppendOf(buf[:0], bs) }))
	assert.Zero(t, testutil.AllocsPerRun(100, func() { sink, err = argkey.AppendOf(buf[:0], st) }))
	require.NoError(t, err)
}

func TestCheck(t *testing.T) {
	type Deep struct {
		M map[string][]*hidden
	}
	type Fine struct {
		Next *Fine
		Any  any
		K    keyed
		Addr netip.Addr
	}
	require.ErrorIs(t, argkey.Check(reflect.TypeFor[Deep]()), argkey.ErrUnsupported)
	require.ErrorIs(t, argkey.Check(reflect.TypeFor[func()]()), argkey.ErrUnsupported)
	require.ErrorIs(t, argkey.Check(reflect.TypeFor[struct{ C chan int }]()), argkey.ErrUnsupported)
	require.NoError(t, argkey.Check(reflect.TypeFor[Fine]()))
	require.NoError(t, argkey.Check(reflect.TypeFor[Args]()))
	require.NoError(t, argkey.Check(reflect.TypeFor[any]()))
}

type Level int8

type allFlat struct {
	B   bool
	I   int
	I8  int8
	I16 int16
	I32 int32
	I64 int64
	U   uint
	U8  uint8
	U16 uint16
	U32 uint32
	U64 uint64
	F32 float32
	F64 float64
	S   string
	Bs  []byte
	T   time.Time
	L   Level
	ID  UserID
	_   int
}

// TestFlatPathMatchesReflection: AppendOf reads flat structs and named
// scalars from memory; the bytes must be those of the reflective encoder.
func TestFlatPathMatchesReflection(t *testing.T) {
	v := allFlat{true, -1, -8, -16, -32, -64, 1, 8, 16, 32, 64, 3.5, math.NaN(), "s", []byte("b"),
		time.Unix(7, 8), -3, 99, 0}
	encOf(t, v)
	encOf(t, allFlat{})
	encOf(t, Level(-2))
	encOf(t, struct{}{})
	encOf(t, struct{ A, B string }{"a", "bc"})
	assert.NotEqual(t, encOf(t, struct{ A, B string }{"a", "bc"}), encOf(t, struct{ A, B string }{"ab", "c"}))
}
