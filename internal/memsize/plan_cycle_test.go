package memsize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// freshPlans empties the plans kept, for the test and after it, so that
// the test chooses which type is planned first.
func freshPlans(t *testing.T) {
	t.Helper()
	plans.Clear()
	planCount.Store(0)
	t.Cleanup(func() {
		plans.Clear()
		planCount.Store(0)
	})
}

// The pairs of TestPlanHeldByValueBehindReference: a type A reaches a type
// B through a pointer, slice or map, and B holds A by value, as a field,
// embedded, or in an array; what A holds before that reference holds no
// references (or A holds nothing else).

// order reaches customer through a pointer; customer holds an order.
type order struct {
	ID       int
	Customer *customer
	Lines    []string
}

type customer struct {
	Name string
	Last order // the customer's last order
}

// base reaches entity through a pointer; entity embeds base.
type base struct {
	Owner *entity
}

type entity struct {
	base
	Name string
}

// member reaches group through a pointer; group holds members in an
// array.
type member struct {
	Group *group
	Bio   string
}

type group struct {
	Members [4]member
}

// folder reaches file through a map; file holds a folder.
type folder struct {
	Files map[string]file
}

type file struct {
	Parent folder
	Data   []byte
}

// TestPlanHeldByValueBehindReference: a type held by value in a type it
// reaches through a reference counts what it holds, whichever of the two
// is planned first (measured first). Planning A, its plan was read by B's
// before it was done, said that A held no references, and B's plan (kept)
// dropped its A: an order whose customer's last order held 1 MiB counted
// as 81 bytes.
func TestPlanHeldByValueBehindReference(t *testing.T) {
	big := strings.Repeat("x", 1<<20)
	g := &group{}
	for i := range g.Members {
		g.Members[i] = member{Group: g, Bio: big[:1<<18+i]}
	}
	for _, c := range []struct {
		name string
		a, b any // a value of A, of B, each holding big through B's A
	}{
		{"field", &order{Customer: &customer{Last: order{Lines: []string{big}}}}, &customer{Last: order{Lines: []string{big}}}},
		{"embedded", &base{Owner: &entity{base: base{Owner: &entity{Name: big}}}}, &entity{base: base{Owner: &entity{Name: big}}}},
		{"array", &g.Members[0], g},
		{"map", &folder{Files: map[string]file{"f": {Parent: folder{Files: map[string]file{"g": {Data: []byte(big)}}}}}}, file{Parent: folder{Files: map[string]file{"g": {Data: []byte(big)}}}}},
	} {
		for _, first := range []string{"A", "B"} {
			t.Run(c.name+"/"+first+" first", func(t *testing.T) {
				freshPlans(t)
				vs := []any{c.a, c.b}
				if first == "B" {
					vs[0], vs[1] = vs[1], vs[0]
				}
				for _, v := range vs {
					n, ok := Measure(v)
					want, wantOK := oldMeasure(v)
					assert.Equal(t, want, n, "%T", v)
					assert.Equal(t, wantOK, ok, "%T", v)
					assert.Greater(t, n, 1<<18, "%T", v)
				}
			})
		}
	}
}

// The types of TestPlanLinkedTypes: linked to themselves, to each other,
// by value and by reference.
type (
	node struct {
		next *node
		m    map[string]node
	}
	nested []nested
	linkA  struct {
		b  *linkB
		bs []linkB
	}
	linkB struct {
		a  linkA
		as map[int]*linkA
	}
)

// TestPlanLinkedTypes: values of types that refer to themselves or to
// each other count what the old walk counted, exact and too big.
func TestPlanLinkedTypes(t *testing.T) {
	freshPlans(t)
	var head *node
	for i := range 100_000 {
		n := &node{next: head}
		if i%1000 == 0 {
			n.m = map[string]node{"k": {next: head}}
		}
		head = n
	}
	small := head
	for range 99_990 {
		small = small.next
	}
	var l nested
	for range 200 {
		l = nested{l, make(nested, 2)}
	}
	a := &linkA{}
	cur := a
	for range 100 {
		b := &linkB{as: map[int]*linkA{1: a}}
		cur.b = b
		cur.bs = []linkB{{as: b.as}}
		cur = &b.a
	}
	for _, v := range []any{head, *head, l, a, *a, small, [3]*node{small, small, head}} {
		n, ok := Measure(v)
		want, wantOK := oldMeasure(v)
		assert.Equal(t, want, n, "%T", v)
		assert.Equal(t, wantOK, ok, "%T", v)
	}
}
