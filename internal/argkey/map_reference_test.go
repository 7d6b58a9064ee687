package argkey

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// mapGen builds nested maps (and what they hold) from the bytes of b: keys
// that encode alike (NaN, -0 and +0, distinct pointers to equal values,
// structs holding NaN), keys of several dynamic types, maps of one pair,
// maps in slices, pointers and structs, keys that hold maps (whose keys
// may hold maps), and now and then a value the encoder refuses.
type mapGen struct {
	b []byte
	i int
}

func (g *mapGen) next() byte {
	if g.i >= len(g.b) {
		return 0
	}
	c := g.b[g.i]
	g.i++
	return c
}

type genKey struct {
	F float64
	S string
}

type refHolder struct {
	M map[string]any
	N int
}

// keyHolder is a map key (through a pointer) that holds any value, maps of
// such keys included.
type keyHolder struct {
	V any
	N int
}

func (g *mapGen) float() float64 {
	fs := []float64{0, math.Copysign(0, -1), math.NaN(), math.Float64frombits(0x7ff8000000000002), 1, -1.5}
	return fs[int(g.next())%len(fs)]
}

func (g *mapGen) str() string {
	return []string{"", "a", "b", "ab", "\x00", "a\x00"}[int(g.next())%6]
}

func (g *mapGen) scalar() any {
	switch g.next() % 7 {
	case 0:
		return nil
	case 1:
		return int(int8(g.next()))
	case 2:
		return g.str()
	case 3:
		return g.float()
	case 4:
		return int64(g.next() % 3)
	case 5:
		return g.next()%2 == 0
	default:
		return []byte(g.str())
	}
}

func (g *mapGen) size() int {
	return []int{0, 1, 1, 2, 3, 5}[int(g.next())%6]
}

func (g *mapGen) value(depth int) any {
	if depth > 6 {
		return g.scalar()
	}
	switch g.next() % 15 {
	case 0, 1:
		return g.scalar()
	case 2:
		m := map[string]any{}
		for range g.size() {
			m[g.str()] = g.value(depth + 1)
		}
		return m
	case 3:
		m := map[float64]any{}
		for range g.size() {
			m[g.float()] = g.value(depth + 1)
		}
		return m
	case 4:
		m := map[any]any{}
		for range g.size() {
			k := g.scalar()
			if _, ok := k.([]byte); ok {
				k = string(k.([]byte))
			}
			m[k] = g.value(depth + 1)
		}
		return m
	case 5:
		m := map[*int]any{}
		for range g.size() {
			var k *int
			if g.next()%4 != 0 {
				n := int(g.next() % 2)
				k = &n
			}
			m[k] = g.value(depth + 1)
		}
		return m
	case 6:
		m := map[genKey]any{}
		for range g.size() {
			m[genKey{g.float(), g.str()}] = g.value(depth + 1)
		}
		return m
	case 7:
		m := map[[2]float64]float64{}
		for range g.size() {
			m[[2]float64{g.float(), g.float()}] = g.float()
		}
		return m
	case 8:
		s := make([]any, g.size())
		for i := range s {
			s[i] = g.value(depth + 1)
		}
		return s
	case 9:
		v := g.value(depth + 1)
		return &v
	case 10:
		m, _ := g.value(depth + 1).(map[string]any)
		return refHolder{M: m, N: int(g.next() % 2)}
	case 11:
		m := map[int]map[string]int{}
		for range g.size() {
			inner := map[string]int{}
			for range g.size() {
				inner[g.str()] = int(g.next() % 3)
			}
			m[int(g.next()%3)] = inner
		}
		return m
	case 12:
		if g.next()%8 == 0 {
			return map[string]any{"f": func() {}}
		}
		return map[string]any{g.str(): g.value(depth + 1)}
	case 13:
		m := map[*keyHolder]any{}
		for range g.size() {
			m[&keyHolder{g.value(depth + 1), int(g.next() % 2)}] = g.value(depth + 1)
		}
		return m
	default:
		m := map[*genKey]map[float64]any{}
		for range g.size() {
			inner := map[float64]any{}
			for range g.size() {
				inner[g.float()] = g.value(depth + 2)
			}
			m[&genKey{g.float(), g.str()}] = inner
		}
		return m
	}
}

// checkAgainstReference encodes v with the encoder and with the reference
// one and fails unless both give the same bytes, or both an error.
func checkAgainstReference(t *testing.T, v any) {
	t.Helper()
	want, werr := refAppendOf(v)
	got, gerr := AppendOf(nil, v)
	if (werr == nil) != (gerr == nil) {
		t.Fatalf("%#v: reference error %v, encoder error %v", v, werr, gerr)
	}
	if werr != nil {
		if errors.Is(werr, ErrUnsupported) != errors.Is(gerr, ErrUnsupported) {
			t.Fatalf("%#v: reference error %v, encoder error %v", v, werr, gerr)
		}
		return
	}
	if !bytes.Equal(want, got) {
		t.Fatalf("%#v:\nreference %x\nencoder   %x", v, want, got)
	}
}

// TestMapEncodingMatchesReference: the encoder that sorts a map's pairs
// by their encoded keys, writing each value once, gives the bytes of the
// one that sorted the encoded pairs themselves, for random nested maps.
func TestMapEncodingMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		b := make([]byte, rng.IntN(200))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		checkAgainstReference(t, (&mapGen{b: b}).value(0))
	}
}

func FuzzMapEncodingMatchesReference(f *testing.F) {
	f.Add([]byte{3, 5, 2, 0, 3, 2, 2, 3})
	f.Add([]byte{5, 5, 1, 0, 1, 1, 0, 0, 1, 1, 0, 1})
	f.Add([]byte{13, 4, 2, 1, 5, 3, 2, 2, 5, 3, 3, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		checkAgainstReference(t, (&mapGen{b: b}).value(0))
	})
}

// TestNestedMapsMatchReference: maps nested thousands deep, one pair
// each (the JSON filter of a request) or with keys that encode alike,
// agree with the reference, and past maxDepth both refuse them (a map
// and the interface holding it are two levels each).
func TestNestedMapsMatchReference(t *testing.T) {
	nest := func(levels int, wrap func(any) any) any {
		var v any = "x"
		for range levels {
			v = wrap(v)
		}
		return v
	}
	for name, wrap := range map[string]func(any) any{
		"one pair": func(v any) any { return map[string]any{"a": v} },
		"two pairs": func(v any) any {
			return map[string]any{"a": v, "b": 1}
		},
		"NaN keys": func(v any) any {
			m := map[float64]any{}
			m[math.NaN()] = v
			m[math.NaN()] = 1
			return m
		},
	} {
		t.Run(name, func(t *testing.T) {
			// (The reference is quadratic in the nesting: 1,000 levels, not 10,000.)
			for _, levels := range []int{1, 2, 100, 1000, maxDepth/2 + 1} {
				checkAgainstReference(t, nest(levels, wrap))
			}
			_, err := AppendOf(nil, nest(maxDepth/2+1, wrap))
			if !errors.Is(err, ErrUnsupported) {
				t.Fatalf("%d levels: %v, want ErrUnsupported", maxDepth/2+1, err)
			}
		})
	}
}
