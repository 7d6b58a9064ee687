package argkey_test

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/argkey"
)

type fuzzS1 struct {
	A any
	B string
}
type fuzzS2 struct {
	A any
	B string
}
type fuzzInt int
type fuzzBytes []byte

// gen builds a value from the bytes of r.
type gen struct {
	b []byte
	i int
}

func (g *gen) next() byte {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return c
}

var fuzzLocs = []*time.Location{time.UTC, time.FixedZone("X", 3600), time.FixedZone("Y", 3600)}

func (g *gen) value(depth int) any {
	k := g.next() % 22
	if depth > 4 && k >= 12 {
		k %= 12
	}
	switch k {
	case 0:
		return nil
	case 1:
		return int(int8(g.next()))
	case 2:
		return int8(g.next())
	case 3:
		return uint(g.next())
	case 4:
		fs := []float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000002), 1, float64(g.next())}
		return fs[int(g.next())%len(fs)]
	case 5:
		n := int(g.next() % 4)
		s := make([]byte, n)
		for i := range s {
			s[i] = g.next() % 4
		}
		return string(s)
	case 6:
		n := int(g.next() % 4)
		if n == 3 {
			return []byte(nil)
		}
		s := make([]byte, n)
		for i := range s {
			s[i] = g.next() % 4
		}
		return s
	case 7:
		return [2]byte{g.next() % 3, g.next() % 3}
	case 8:
		return fuzzInt(int8(g.next()))
	case 9:
		return fuzzBytes{g.next() % 3}
	case 10:
		return time.Unix(int64(g.next()%3), int64(g.next()%3)).In(fuzzLocs[int(g.next())%3])
	case 11:
		return g.next()%2 == 0
	case 12:
		n := int(g.next() % 4)
		if n == 3 {
			return []any(nil)
		}
		s := make([]any, n)
		for i := range s {
			s[i] = g.value(depth + 1)
		}
		return s
	case 13:
		n := int(g.next() % 3)
		m := map[string]any{}
		for range n {
			m[string(rune('a'+g.next()%3))] = g.value(depth + 1)
		}
		return m
	case 14:
		n := int(g.next() % 3)
		m := map[any]any{}
		for range n {
			key := g.value(10) // scalars only
			if key != nil && !reflect.TypeOf(key).Comparable() {
				key = "k"
			}
			m[key] = g.value(depth + 1)
		}
		return m
	case 15:
		v := g.value(depth + 1)
		return &v
	case 16:
		return fuzzS1{g.value(depth + 1), string(rune('a' + g.next()%3))}
	case 17:
		return fuzzS2{g.value(depth + 1), string(rune('a' + g.next()%3))}
	case 18:
		return struct{ A, B any }{g.value(depth + 1), g.value(depth + 1)}
	case 19:
		return [2]any{g.value(depth + 1), g.value(depth + 1)}
	case 20:
		return (*int)(nil)
	case 21:
		return &fuzzS1{A: g.value(depth + 1)}
	}
	return nil
}

// same is equality as argkey documents it: reflect.DeepEqual but for NaN
// (all equal), -0 == +0, nil == empty for slices and maps, time.Time by
// instant, pointers by target.
func same(a, b reflect.Value) bool {
	if !a.IsValid() || !b.IsValid() {
		return a.IsValid() == b.IsValid()
	}
	if a.Type() != b.Type() {
		return false
	}
	if a.Type() == reflect.TypeFor[time.Time]() {
		return a.Interface().(time.Time).Equal(b.Interface().(time.Time))
	}
	switch a.Kind() {
	case reflect.Float32, reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || x != x && y != y
	case reflect.Interface, reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return same(a.Elem(), b.Elem())
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !same(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		// match each pair of a with a distinct pair of b
		used := map[int]bool{}
		type kv struct{ k, v reflect.Value }
		var bs []kv
		for it := b.MapRange(); it.Next(); {
			bs = append(bs, kv{it.Key(), it.Value()})
		}
		for it := a.MapRange(); it.Next(); {
			found := false
			for j, p := range bs {
				if !used[j] && same(it.Key(), p.k) && same(it.Value(), p.v) {
					used[j], found = true, true
					break
				}
			}
			if !found {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := range a.NumField() {
			if !same(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

func FuzzEqualValuesShareKeys(f *testing.F) {
	f.Add([]byte{1, 2, 3}, []byte{1, 2, 4})
	f.Add([]byte{12, 2, 5, 1, 5, 2}, []byte{12, 1, 5, 2, 1})
	f.Add([]byte{14, 2, 4, 2, 1, 4, 3, 1}, []byte{14, 2, 4, 3, 1, 4, 2, 1})
	f.Fuzz(func(t *testing.T, x, y []byte) {
		a := (&gen{b: x}).value(0)
		b := (&gen{b: y}).value(0)
		ea, err1 := argkey.AppendOf[any](nil, a)
		eb, err2 := argkey.AppendOf[any](nil, b)
		if err1 != nil || err2 != nil {
			return
		}
		sa := same(reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem())
		if (string(ea) == string(eb)) != sa {
			t.Fatalf("encodings equal=%v, values same=%v:\n%#v\n%#v\n%q\n%q", string(ea) == string(eb), sa, a, b, ea, eb)
		}
	})
}
