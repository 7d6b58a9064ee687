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

// requestHolder and serverHolder hold types whose plans link to a few
// hundred others.
type requestHolder struct {
	R *http.Request
	S string
}

type serverHolder struct {
	R *http.Server
	S string
}

// TestPlansPastCapOncePerWalk: past maxPlans, a walk works out the plan
// of each type it meets once, not once per value of it: a 20,000-element
// []any alternating two types allocates about what planning them once
// does. Each element planned its type's whole graph again: 4.56 million
// allocations and a second, against the old walk's millisecond.
func TestPlansPastCapOncePerWalk(t *testing.T) {
	freshPlans(t)
	fillPlans()
	v := make([]any, 20_000)
	for i := range v {
		if i%2 == 0 {
			v[i] = requestHolder{S: "x"}
		} else {
			v[i] = serverHolder{S: "y"}
		}
	}
	once := testing.AllocsPerRun(3, func() {
		made := map[reflect.Type]*plan{}
		planOf(reflect.TypeFor[requestHolder](), made)
		planOf(reflect.TypeFor[serverHolder](), made)
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
	kept := 0
	plans.Range(func(any, any) bool { kept++; return true })
	assert.LessOrEqual(t, kept, maxPlans)
	assert.LessOrEqual(t, planCount.Load(), int64(maxPlans))
}
