package memsize

import (
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// ownProduct is a type of the program's own, as a cache holds.
type ownProduct struct {
	ID      int
	Name    string
	Tags    []string
	Created time.Time
	Attrs   map[string]string
}

// TestPlansOwnTypesPastCap: once types made at run time have filled
// maxPlans, the program's own types measured afterwards are still kept,
// also when a type made at run time held them first, so measuring one
// again allocates no more than the old walk does. Each
// Measure re-planned the whole graph of the type: 169 allocations for a
// struct holding a nil *http.Request, against the old walk's few.
func TestPlansOwnTypesPastCap(t *testing.T) {
	for _, v := range []any{
		requestHolder{S: "hello"},
		&ownProduct{Name: "p", Tags: []string{"a", "b"}, Created: time.Now(), Attrs: map[string]string{"k": "v"}},
		[]ownProduct{{Name: "p"}},
		[]any{requestHolder{S: "x"}, &ownProduct{Name: "q"}},
	} {
		freshPlans(t)
		fillPlans()
		// First held by a type made at run time, whose plan is not kept.
		held := reflect.TypeOf(v)
		if k := held.Kind(); k == reflect.Pointer || k == reflect.Slice {
			held = held.Elem()
		}
		Measure(reflect.New(madeHolder(held)).Elem().Interface())
		_, kept := plans.Load(reflect.SliceOf(held))
		assert.True(t, kept, "[]%v, held by a type made at run time, kept", held)
		Measure(v)
		allocs := testing.AllocsPerRun(100, func() { Measure(v) })
		old := testing.AllocsPerRun(100, func() { oldMeasure(v) })
		assert.LessOrEqual(t, allocs, old+2, "%T past the cap: %.0f allocations per Measure, the old walk %.0f", v, allocs, old)
		n, ok := Measure(v)
		want, wantOK := oldMeasure(v)
		assert.Equal(t, want, n, "%T", v)
		assert.Equal(t, wantOK, ok, "%T", v)
	}
}

// TestPlansCapNotExceededConcurrently: goroutines that plan new types at
// once near maxPlans keep no more than maxPlans between them; each checked
// the count, then kept its plans, and together kept more.
func TestPlansCapNotExceededConcurrently(t *testing.T) {
	freshPlans(t)
	str := reflect.TypeFor[string]()
	worst := int64(0)
	for round := range 100 {
		plans.Clear()
		planCount.Store(maxPlans - 100)
		var start, wg sync.WaitGroup
		start.Add(1)
		for g := range 8 {
			fs := make([]reflect.StructField, 300)
			for i := range fs {
				fs[i] = reflect.StructField{Name: "F" + string(rune('A'+i%26)) + string(rune('A'+i/26)), Type: reflect.ArrayOf(1+i+300*(g+8*round), str)}
			}
			ty := reflect.StructOf(fs)
			wg.Go(func() {
				start.Wait()
				planOf(ty, nil)
			})
		}
		start.Done()
		wg.Wait()
		worst = max(worst, planCount.Load())
		assert.Equal(t, int(planCount.Load())-(maxPlans-100), countedPlans(), "plans kept against maxPlans, and their count")
	}
	assert.LessOrEqual(t, worst, int64(maxPlans), "plans counted")
}

// countedPlans returns how many plans are kept against maxPlans.
func countedPlans() int {
	n := 0
	plans.Range(func(_, p any) bool {
		if !p.(*plan).own {
			n++
		}
		return true
	})
	return n
}
