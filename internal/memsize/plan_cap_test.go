package memsize

import (
	"net/http"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// fillPlans keeps plans of types made at run time until maxPlans are kept,
// as a program that makes many types would.
func fillPlans() {
	str := reflect.TypeFor[string]()
	for i := 0; planCount.Load() < maxPlans; i++ {
		Measure(reflect.New(reflect.ArrayOf(i+1, str)).Elem().Interface())
	}
}

// requestHolder holds a type whose plan links to a few hundred others.
type requestHolder struct {
	R *http.Request
	S string
}

// madeHolder returns a struct type made at run time, holding a value of
// type t as requestHolder holds an *http.Request, and a map of slices of
// them: not of the program's own (see ownType), so not kept past
// maxPlans.
func madeHolder(t reflect.Type) reflect.Type {
	return reflect.StructOf([]reflect.StructField{
		{Name: "R", Type: t},
		{Name: "S", Type: reflect.TypeFor[string]()},
		{Name: "M", Type: reflect.MapOf(reflect.TypeFor[string](), reflect.SliceOf(t))},
	})
}

// TestPlansPastCapOncePerWalk: past maxPlans, a walk works out the plan
// of each type made at run time it meets once, not once per value of it: a
// 20,000-element []any alternating two such types allocates about what
// planning them once does. Each element planned its type's whole graph again: 4.56 million
// allocations and a second, against the old walk's millisecond.
func TestPlansPastCapOncePerWalk(t *testing.T) {
	freshPlans(t)
	fillPlans()
	req, srv := madeHolder(reflect.TypeFor[*http.Request]()), madeHolder(reflect.TypeFor[*http.Server]())
	v := make([]any, 20_000)
	for i := range v {
		h := reflect.New(req).Elem()
		if i%2 == 1 {
			h = reflect.New(srv).Elem()
		}
		h.Field(1).SetString("x")
		v[i] = h.Interface()
	}
	once := testing.AllocsPerRun(3, func() {
		made := map[reflect.Type]*plan{}
		planOf(req, made)
		planOf(srv, made)
	})
	measure := testing.AllocsPerRun(3, func() { Measure(v) })
	n, ok := Measure(v)
	want, wantOK := oldMeasure(v)
	assert.Equal(t, want, n)
	assert.Equal(t, wantOK, ok)
	assert.LessOrEqual(t, measure, 2*once+10, "a walk's allocations past the cap; planning both types once: %.0f", once)

	start := time.Now()
	oldMeasure(v)
	old := time.Since(start)
	start = time.Now()
	Measure(v)
	t.Logf("past the cap: %v (%.0f allocations), the old walk %v", time.Since(start), measure, old)
}

// TestPlansConcurrentPastCap: walks that make new types' plans at once,
// past maxPlans, agree with the old walk and keep no more than maxPlans
// (run with -race).
func TestPlansConcurrentPastCap(t *testing.T) {
	freshPlans(t)
	var wg sync.WaitGroup
	str := reflect.TypeFor[string]()
	for g := range 8 {
		wg.Go(func() {
			for i := range 700 {
				v := reflect.New(reflect.ArrayOf(g*1000+i+1, str)).Elem()
				v.Index(0).SetString("abc")
				n, ok := Measure(v.Interface())
				want, wantOK := oldMeasure(v.Interface())
				if n != want || ok != wantOK {
					t.Errorf("[%d]string: Measure = %d, %v; the old walk: %d, %v", v.Len(), n, ok, want, wantOK)
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int64(maxPlans), planCount.Load())
	assert.Equal(t, maxPlans, countedPlans())
}

// TestPlansKeepCounts: keep takes room for a plan not of the program's own
// before keeping it, gives it back when the type's plan was kept already,
// and keeps none past maxPlans; an own plan takes none.
func TestPlansKeepCounts(t *testing.T) {
	freshPlans(t)
	str := reflect.TypeFor[string]()
	mk := func(n int) *plan { return &plan{t: reflect.ArrayOf(n, str)} }
	planCount.Store(maxPlans - 2)
	a := mk(1)
	assert.True(t, keep(a))
	assert.True(t, keep(mk(1)), "a plan of a type kept already")
	assert.Equal(t, int64(maxPlans-1), planCount.Load(), "a type kept twice counts once")
	got, _ := plans.Load(a.t)
	assert.Same(t, a, got)
	assert.True(t, keep(mk(2)))
	b := mk(3)
	assert.False(t, keep(b), "past maxPlans")
	assert.Equal(t, int64(maxPlans), planCount.Load(), "room given back")
	_, had := plans.Load(b.t)
	assert.False(t, had, "kept past maxPlans")
	assert.True(t, keep(&plan{t: str, own: true}), "an own plan past maxPlans")
	assert.Equal(t, int64(maxPlans), planCount.Load(), "an own plan counted")
}
