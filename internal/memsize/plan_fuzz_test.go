package memsize

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"
)

// gen makes random types and values of them for TestPlanRandomTypes.
type gen struct {
	r     *rand.Rand
	ptrs  map[reflect.Type][]reflect.Value // values made, for aliasing
	big   bool
	nomap bool
}

// scalarTypes are the types at the bottom of those gen makes.
var scalarTypes = []reflect.Type{reflect.TypeFor[int64](), reflect.TypeFor[uint8](), reflect.TypeFor[string](), reflect.TypeFor[any](), reflect.TypeFor[chan int](), reflect.TypeFor[func()](), reflect.TypeFor[struct{}]()}

// typ returns a random type nested at most d deep.
func (g *gen) typ(d int) reflect.Type {
	if d <= 0 {
		return scalarTypes[g.r.IntN(len(scalarTypes))]
	}
	switch g.r.IntN(8) {
	case 0:
		return reflect.PointerTo(g.typ(d - 1))
	case 1:
		return reflect.SliceOf(g.typ(d - 1))
	case 2:
		n := []int{0, 1, 2, 3, 5}[g.r.IntN(5)]
		return reflect.ArrayOf(n, g.typ(d-1))
	case 3:
		if g.nomap {
			return reflect.SliceOf(g.typ(d - 1))
		}
		keys := []reflect.Type{reflect.TypeFor[string](), reflect.TypeFor[int](), reflect.TypeFor[[2]string](), reflect.TypeFor[*int](), reflect.TypeFor[any]()}
		return reflect.MapOf(keys[g.r.IntN(len(keys))], g.typ(d-1))
	case 4, 5:
		nf := g.r.IntN(5)
		fs := make([]reflect.StructField, nf)
		for i := range fs {
			fs[i] = reflect.StructField{Name: fmt.Sprintf("F%d", i), Type: g.typ(d - 1)}
		}
		return reflect.StructOf(fs)
	default:
		return scalarTypes[g.r.IntN(len(scalarTypes))]
	}
}

// fill sets v, nested d deep in the value made, to a random value, with
// aliases of the pointers and slices made before.
func (g *gen) fill(v reflect.Value, d int) {
	t := v.Type()
	if d > 8 {
		return
	}
	switch t.Kind() {
	case reflect.Int64:
		v.SetInt(g.r.Int64())
	case reflect.String:
		v.SetString(string(make([]byte, g.r.IntN(100))))
	case reflect.Interface:
		switch g.r.IntN(6) {
		case 0:
		case 1:
			v.Set(reflect.ValueOf(g.r.IntN(1000)))
		case 2:
			v.Set(reflect.ValueOf(string(make([]byte, g.r.IntN(50)))))
		case 3:
			x := g.typ(2)
			nv := reflect.New(x).Elem()
			g.fill(nv, d+1)
			v.Set(nv)
		case 4:
			x := g.typ(2)
			nv := reflect.New(x)
			g.fill(nv.Elem(), d+1)
			v.Set(nv)
		case 5:
			v.Set(reflect.ValueOf(map[string]int{"a": 1}))
		}
	case reflect.Pointer:
		if g.r.IntN(4) == 0 {
			return
		}
		if ps := g.ptrs[t]; len(ps) > 0 && g.r.IntN(3) == 0 {
			v.Set(ps[g.r.IntN(len(ps))])
			return
		}
		nv := reflect.New(t.Elem())
		g.fill(nv.Elem(), d+1)
		v.Set(nv)
		g.ptrs[t] = append(g.ptrs[t], nv)
		// a pointer into the middle of the struct
		if t.Elem().Kind() == reflect.Struct && t.Elem().NumField() > 1 {
			f := nv.Elem().Field(t.Elem().NumField() - 1).Addr()
			g.ptrs[f.Type()] = append(g.ptrs[f.Type()], f)
		}
	case reflect.Slice:
		if g.r.IntN(5) == 0 {
			return
		}
		if ps := g.ptrs[t]; len(ps) > 0 && g.r.IntN(3) == 0 {
			s := ps[g.r.IntN(len(ps))]
			v.Set(s.Slice(0, g.r.IntN(s.Len()+1)))
			return
		}
		n := g.r.IntN(4)
		if g.big && g.r.IntN(3) == 0 {
			n = g.r.IntN(20000)
		}
		nv := reflect.MakeSlice(t, n, n+g.r.IntN(3))
		for i := range n {
			if i < 50 || g.r.IntN(100) == 0 {
				g.fill(nv.Index(i), d+1)
			} else if i > 0 {
				nv.Index(i).Set(nv.Index(i % 50))
			}
		}
		v.Set(nv)
		g.ptrs[t] = append(g.ptrs[t], nv)
	case reflect.Array:
		for i := range v.Len() {
			g.fill(v.Index(i), d+1)
		}
	case reflect.Map:
		if g.r.IntN(5) == 0 {
			return
		}
		nv := reflect.MakeMap(t)
		n := g.r.IntN(4)
		for range n {
			k := reflect.New(t.Key()).Elem()
			if t.Key().Kind() == reflect.Interface {
				k.Set(reflect.ValueOf(g.r.IntN(1000)))
			} else {
				g.fill(k, d+1)
			}
			e := reflect.New(t.Elem()).Elem()
			g.fill(e, d+1)
			nv.SetMapIndex(k, e)
		}
		v.Set(nv)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Field(i).CanSet() {
				g.fill(v.Field(i), d+1)
			}
		}
	}
}

// randomTypes is how many random types TestPlanRandomTypes measures
// values of: more with -memsize.random=N.
var randomTypes = flag.Int("memsize.random", 400, "random types TestPlanRandomTypes measures values of")

// TestPlanRandomTypes: values of random types (made at run time: structs,
// arrays, slices, maps and pointers nested four deep, some of them large
// or aliased) count what the old walk counted, and are measured, or not,
// alike. It leaves the plans kept as it found them empty: it makes more
// than maxPlans types.
func TestPlanRandomTypes(t *testing.T) {
	freshPlans(t)
	sampled := 0
	seeds := []uint64{1854, 2247, 2295} // too big to walk exactly, and quick to make
	for seed := range uint64(*randomTypes) {
		seeds = append(seeds, seed)
	}
	for _, seed := range seeds {
		g := &gen{r: rand.New(rand.NewPCG(seed, 7)), ptrs: map[reflect.Type][]reflect.Value{}, big: seed%3 == 0, nomap: seed%3 == 0}
		typ := g.typ(4)
		v := reflect.New(typ)
		g.fill(v.Elem(), 0)
		var x any = v.Interface()
		if seed%2 == 0 {
			x = v.Elem().Interface()
		}
		if rv := reflect.ValueOf(x); rv.IsValid() && rv.Kind() != reflect.String {
			w := &walker{exact: true}
			if !w.walkPlan(rv, planOf(rv.Type(), nil)) {
				sampled++
			}
		}
		n, ok := Measure(x)
		want, wantOK := oldMeasure(x)
		// A map's walk starts at random, and what aliases of an object
		// count can depend on which is met first: another walk of the
		// old kind may count what this one did.
		for try := 0; (n != want || ok != wantOK) && try < 50; try++ {
			want, wantOK = oldMeasure(x)
		}
		if n != want || ok != wantOK {
			t.Errorf("seed %d, %v: Measure = %d, %v; the old walk: %d, %v", seed, typ, n, ok, want, wantOK)
		}
	}
	t.Logf("%d values, %d sampled", len(seeds), sampled)
}
