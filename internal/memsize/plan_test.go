package memsize

import (
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// pair and deep are values whose walks are sampled with deadlines that
// bite: a struct's fields' turns (pair), within maxDepth and beyond it
// (deep, whose nodes nest 60 deep).
type pair struct {
	ID   int
	A, B []*cell
	Note string
}

type deep struct {
	next  *deep
	cells []*cell
	ID    int
}

type withOdd struct {
	ch   chan int
	fn   func()
	up   unsafe.Pointer
	zero struct{}
	none [0]string
	arr  [4]string
	ptrs [3]*cell
	in   any
	sc   scalars
	tm   *time.Time
}

// TestPlanSameEstimates: the walk guided by per-type plans counts what the
// walk that asked reflect about every value's type counted (oldwalk_test.go
// keeps it), with the same visits, on a corpus of shapes, exact and
// sampled. Maps are walked exactly here (sampling a map depends on its
// random order).
func TestPlanSameEstimates(t *testing.T) {
	products := make([]*product, 10_000)
	byName := make(map[string]*product, 10_000)
	for i := range products {
		products[i] = newProduct(i)
		byName[fmt.Sprint(i)] = products[i]
	}
	type item struct {
		ID   int
		Name string
		Tags []string
	}
	items := make([]item, 100_000)
	for i := range items {
		items[i] = item{ID: i, Name: "item name", Tags: []string{"a", "b"}}
	}
	wides := make([]wide, 1000)
	for i := range wides {
		wides[i] = wide{Name: strings.Repeat("w", i%5), Tags: []string{"a"}, Created: time.Unix(int64(i), 0)}
	}
	grid := make([][]*cell, 600)
	for i := range grid {
		grid[i] = make([]*cell, 600)
		for j := range grid[i] {
			grid[i][j] = &cell{ID: int64(j), Name: fmt.Sprint(j)}
		}
	}
	rows := make([][]row, 300)
	for i := range rows {
		rows[i] = make([]row, 300)
		for j := range rows[i] {
			rows[i][j] = row{Label: "r", Tags: []string{"a", strings.Repeat("b", j%9)}}
		}
	}
	bySc := map[string]scalars{"a": {A: 1}, "bb": {}}
	m := map[oddStr]oddStr{"k": "v", "kk": "vvv"}
	in := oddInner{m: m, a: map[string][2]string{"x": {"y", "zz"}}, i: map[string]string{"p": "q"}, ks: map[[2]string]string{{"a", "b"}: "c"}}
	odd := &oddOuter{oddInner: in, Pub: map[string]string{"a": "b"}, priv: &in, ifc: map[string]any{"m": m, "s": "zzz"}}
	odd.self = odd
	odd.arr[1] = odd.Pub
	now := time.Unix(5, 0)
	big := make([]byte, 1<<20)
	type hdr struct{ a, b int64 }
	type doc struct {
		h    hdr
		data [64]byte
	}
	d := new(doc)
	d.h, d.data[0] = hdr{1, 2}, 3
	pairs := make([]pair, 200)
	for i := range pairs {
		pairs[i].A, pairs[i].B = make([]*cell, 1000), make([]*cell, 1000+i)
		for j := range pairs[i].A {
			pairs[i].A[j] = &cell{Name: "a"}
		}
		for j := range pairs[i].B {
			pairs[i].B[j] = &cell{Name: strings.Repeat("b", j%13)}
		}
	}
	var dp *deep
	for i := range 60 {
		dp = &deep{next: dp, cells: make([]*cell, 5000+i)}
		for j := range dp.cells {
			dp.cells[j] = &cell{Name: strings.Repeat("c", j%7)}
		}
	}
	corpus := map[string]any{
		"pairs":           pairs, // sampled
		"deep":            dp,    // sampled
		"product":         newProduct(1),
		"product value":   *newProduct(2),
		"products 10k":    products,
		"map 10k":         byName,
		"items 100k":      items, // sampled
		"wide":            &wides[1],
		"wides":           wides,
		"scalars":         scalars{A: 1},
		"scalars pointer": &scalars{},
		"scalars 10k":     make([]scalars, 10_000),
		"floats":          &[4096]float64{},
		"map of scalars":  bySc,
		"odd":             odd,
		"odd value":       *odd,
		"chain":           newChain(1000),
		"long chain":      newChain(300_000), // too big
		"list":            longList(1000),
		"grid":            grid, // sampled
		"rows":            rows, // sampled
		"mixed":           []any{1, "two", map[string]int{"x": 1}, &scalars{}, [2]string{"a", "b"}, struct{ a any }{"x"}, nil, now},
		"time":            now,
		"time pointer":    &now,
		"odd fields":      &withOdd{ch: make(chan int), fn: func() {}, arr: [4]string{"a", "bb"}, ptrs: [3]*cell{{Name: "x"}}, in: scalars{}, sc: scalars{A: 1}, tm: &now, up: unsafe.Pointer(&now), zero: struct{}{}, none: [0]string{}},
		"aliased slices":  struct{ Magic, Body []byte }{big[:4:4], big},
		"aliased pointers": struct {
			H *hdr
			D *doc
		}{&d.h, d},
		"array of strings":    &[4]string{"a", "bb", "ccc"},
		"map of arrays":       map[string][2]string{"k": {"v", "w"}},
		"map of pointers":     map[int]*cell{1: {Name: "one"}, 2: nil},
		"map of any":          map[string]any{"s": []string{"x"}, "n": 1, "m": map[int]string{1: "y"}},
		"string grid":         [][]string{{"a", "bb"}, {"ccc"}},
		"strings 300k":        make([]string, 300_000), // sampled
		"iface of struct":     any(struct{ A, B int64 }{1, 2}),
		"slice of interfaces": []fmt.Stringer{time.Second, nil},
	}
	for name, v := range corpus {
		t.Run(name, func(t *testing.T) {
			n0, ok0 := oldMeasure(v)
			n1, ok1 := Measure(v)
			assert.Equal(t, n0, n1, "bytes")
			assert.Equal(t, ok0, ok1, "measured")
			if v == nil {
				return
			}
			var ow oldWalker
			var nw walker
			ow.exact, nw.exact = true, true
			oOK, nOK := ow.walk(reflect.ValueOf(v)), nw.walk(reflect.ValueOf(v))
			assert.Equal(t, ow.steps, nw.steps, "visits")
			assert.Equal(t, oOK, nOK, "walked")
		})
	}
}

// TestPlansBounded: the plans kept of types not of the program's own are
// at most maxPlans, however many types a program makes at run time, and a value of a type whose plan is
// not kept is measured as one whose plan is.
func TestPlansBounded(t *testing.T) {
	defer func() { // leave the other tests a cache with room
		plans.Clear()
		planCount.Store(0)
	}()
	str := reflect.TypeFor[string]()
	for i := range maxPlans + 100 {
		v := reflect.New(reflect.ArrayOf(i+1, str)).Elem()
		v.Index(0).SetString("abc")
		n, ok := Measure(v.Interface())
		if want := (i+1)*16 + 3; !ok || n != want {
			t.Fatalf("[%d]string: Measure = %d, %v, want %d", i+1, n, ok, want)
		}
	}
	assert.LessOrEqual(t, planCount.Load(), int64(maxPlans))
	assert.LessOrEqual(t, countedPlans(), maxPlans)
}

// TestPlansConcurrent: walks that work out the same new types' plans at
// once agree (run with -race).
func TestPlansConcurrent(t *testing.T) {
	ptr := reflect.TypeFor[*cell]()
	types := make([]reflect.Type, 50)
	for i := range types {
		types[i] = reflect.StructOf([]reflect.StructField{
			{Name: "N", Type: reflect.TypeFor[int64]()},
			{Name: "P", Type: reflect.ArrayOf(7000+i, ptr)},
		})
	}
	var wg sync.WaitGroup
	got := make([][]int, 4)
	for g := range got {
		wg.Go(func() {
			for _, typ := range types {
				v := reflect.New(typ)
				v.Elem().Field(1).Index(0).Set(reflect.ValueOf(&cell{Name: "abc"}))
				n, _ := Measure(v.Interface())
				got[g] = append(got[g], n)
			}
		})
	}
	wg.Wait()
	for g := range got[1:] {
		assert.Equal(t, got[0], got[g+1])
	}
}
