package memsize

import (
	"io"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// The types of TestPlanShapes: linked to themselves and to each other,
// generic, with blank, embedded, large and empty fields, and maps keyed
// and valued by references or not.
type zT struct {
	next *zT
	m    map[string]zT
}
type zL []zL
type zA struct {
	b  *zB
	bs []zB
}
type zB struct {
	a  zA
	as map[int]*zA
}
type zG[T any] struct {
	v  T
	vs []T
}
type zBlank struct {
	X int
	_ *int
	_ [2]string
	s string
}
type zEmb struct {
	io.Reader
	n int
}
type zArr struct {
	n   int
	inr struct {
		pad [1000]int64
		ss  [3]string
	}
	z [0]*int
}
type zKV struct {
	a map[*int]int
	b map[int]*int
	c map[[2]string]struct{ x int }
	d map[struct{ x int }][]byte
}
type zBig struct {
	pad [1 << 16]byte
	p   *string
}

// TestPlanShapes: values of odd shapes count what the old walk counted.
func TestPlanShapes(t *testing.T) {
	s := "hello world"
	i := 5
	t1 := &zT{m: map[string]zT{"a": {next: &zT{}}}}
	t1.next = t1
	l := zL{nil, zL{zL{}}, make(zL, 3, 10)}
	l[0] = l
	a := &zA{bs: make([]zB, 2)}
	a.b = &a.bs[1]
	a.bs[0].as = map[int]*zA{1: a}
	a.bs[1].a.b = &a.bs[0]
	arr := zArr{n: 1, z: [0]*int{}}
	arr.inr.ss = [3]string{s, s + s, "x"}
	big := &zBig{p: &s}
	buf := make([]byte, 1000)
	cases := []any{
		t1, *t1, l, a, *a,
		zG[string]{v: s, vs: []string{s}}, &zG[*zT]{v: t1},
		zG[any]{v: t1, vs: []any{1, "x", &i, map[int]int{}, func() {}, make(chan int), struct{ a, b int }{}, [1]*int{&i}, struct{ p *int }{&i}}},
		zBlank{s: s}, &zEmb{Reader: strings.NewReader(s), n: 1}, arr, &arr,
		[0]*int{}, [1 << 20]*int{}, zKV{a: map[*int]int{&i: 1}, b: map[int]*int{1: &i}, c: map[[2]string]struct{ x int }{{s, s}: {}}, d: map[struct{ x int }][]byte{{1}: buf, {2}: buf[:10]}},
		big, *big, []*zBig{big, big}, []any{big, &big.pad, big.p},
		[]any{&arr.inr.ss[1], &arr}, [][]byte{buf[:10], buf, buf[5:]},
		struct {
			a [2][3]string
			p *[3]string
		}{},
	}
	for k, c := range cases {
		n1, ok1 := Measure(c)
		n2, ok2 := oldMeasure(c)
		if n1 != n2 || ok1 != ok2 {
			t.Errorf("case %d %T: new %d %v old %d %v", k, c, n1, ok1, n2, ok2)
		}
	}
}

// TestPlansConcurrentNewTypes: goroutines measuring values of new types
// made at run time at once count what the old walk counted (run with
// -race).
func TestPlansConcurrentNewTypes(t *testing.T) {
	var wg sync.WaitGroup
	str := reflect.TypeFor[string]()
	for g := range 8 {
		wg.Go(func() {
			for i := range 600 {
				typ := reflect.StructOf([]reflect.StructField{
					{Name: "A", Type: reflect.ArrayOf(i%300+1, str)},
					{Name: "B", Type: reflect.PointerTo(reflect.ArrayOf(i%7+1, reflect.SliceOf(str)))},
				})
				v := reflect.New(typ)
				v.Elem().Field(0).Index(0).SetString("abcdef")
				x := v.Interface()
				n1, ok1 := Measure(x)
				n2, ok2 := oldMeasure(x)
				if n1 != n2 || ok1 != ok2 {
					t.Errorf("g%d %d: %d %v vs %d %v", g, i, n1, ok1, n2, ok2)
					return
				}
			}
		})
	}
	wg.Wait()
	t.Logf("plans %d", planCount.Load())
}
