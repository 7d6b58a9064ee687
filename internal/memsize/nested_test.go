package memsize

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// heapOf returns the value mk makes and the heap bytes the runtime counts
// for it: large values only, for which what else the heap does between the
// two readings is noise.
func heapOf(mk func() any) (any, float64) {
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	v := mk()
	runtime.GC()
	runtime.ReadMemStats(&after)
	return v, float64(after.HeapAlloc) - float64(before.HeapAlloc)
}

type cell struct {
	ID   int64
	Name string
}

type row struct {
	Label string
	Tags  []string
}

// TestMeasureNestedCollections (h6): a collection of collections holding
// more than walkBudget references in all (a 600×600 [][]*T) used up the
// walk's budget, because each inner collection of up to sampleSize
// elements was walked whole: the value was "too big to measure", and an
// in-process store refused it as too large where it had kept it. Each
// collection now samples within its share of the budget, and these values
// are measured within a factor of two of what the runtime counts (one of
// 64 MiB in small pieces among them, which a store must not under-count).
func TestMeasureNestedCollections(t *testing.T) {
	const side = 600
	for name, mk := range map[string]func() any{
		"[][]*T": func() any {
			g := make([][]*cell, side)
			for i := range g {
				g[i] = make([]*cell, side)
				for j := range g[i] {
					g[i][j] = &cell{ID: int64(i*side + j), Name: fmt.Sprint("cell-", i, "-", j)}
				}
			}
			return g
		},
		"[][]struct with strings": func() any {
			g := make([][]row, side)
			for i := range g {
				g[i] = make([]row, side)
				for j := range g[i] {
					g[i][j] = row{Label: fmt.Sprint("row-", i, "-", j), Tags: []string{"a", strings.Repeat("b", j%9)}}
				}
			}
			return g
		},
		"map[string][]*T": func() any {
			m := make(map[string][]*cell, side)
			for i := range side {
				s := make([]*cell, side)
				for j := range s {
					s[j] = &cell{ID: int64(j), Name: "name"}
				}
				m[fmt.Sprint("key-", i)] = s
			}
			return m
		},
		"64 MiB in 64-byte pieces": func() any {
			g := make([][][]byte, 512)
			for i := range g {
				g[i] = make([][]byte, 2048)
				for j := range g[i] {
					g[i][j] = make([]byte, 64)
				}
			}
			return g
		},
		"[][][]*T": func() any {
			g := make([][][]*cell, 80)
			for i := range g {
				g[i] = make([][]*cell, 80)
				for j := range g[i] {
					g[i][j] = make([]*cell, 80)
					for k := range g[i][j] {
						g[i][j][k] = &cell{Name: "n"}
					}
				}
			}
			return g
		},
	} {
		t.Run(name, func(t *testing.T) {
			v, want := heapOf(mk)
			got, ok := Measure(v)
			t.Logf("Measure = %d, runtime = %.0f (%.2fx)", got, want, float64(got)/want)
			require.True(t, ok, "a %s of %.0f bytes is too big to measure", name, want)
			assert.GreaterOrEqual(t, float64(got), want/2)
			assert.LessOrEqual(t, float64(got), want*2)
		})
	}
}

// steps measures v as Measure does and returns how many values the walk
// visited, and whether it measured v.
func steps(v any) (int, bool) {
	var w walker
	ok := w.walk(reflect.ValueOf(v))
	return w.steps, ok
}

// TestMeasureChainsStayBounded: the budget shared out among collections
// still bounds the walk: a million-node list is too big to measure after
// at most walkBudget visits, and a thousand lists of a thousand nodes are
// sampled and measured, not under-counted.
func TestMeasureChainsStayBounded(t *testing.T) {
	t.Run("one list of a million", func(t *testing.T) {
		n, ok := steps(newChain(1_000_000))
		assert.False(t, ok, "a list of a million nodes is too big to measure")
		assert.LessOrEqual(t, n, walkBudget+1)
	})
	t.Run("a thousand lists of a thousand", func(t *testing.T) {
		v, want := heapOf(func() any {
			s := make([]*chain, 1000)
			for i := range s {
				s[i] = newChain(1000)
			}
			return s
		})
		n, _ := steps(v)
		assert.LessOrEqual(t, n, walkBudget)
		got, ok := Measure(v)
		t.Logf("Measure = %d, runtime = %.0f (%.2fx), %d visits", got, want, float64(got)/want, n)
		require.True(t, ok)
		assert.GreaterOrEqual(t, float64(got), want/2)
		assert.LessOrEqual(t, float64(got), want*2)
	})
}

// TestMeasureSmallCollectionsExactly: a collection of few elements, one a
// linked structure that costs more than its share of the budget and one a
// large buffer, was sampled (the buffer extrapolated from the structure
// beside it: 1.3 MB counted for 64 MiB) once the budget was shared out. A
// value the walk can finish exactly is measured exactly.
func TestMeasureSmallCollectionsExactly(t *testing.T) {
	blob := make([]byte, 64<<20)
	for name, v := range map[string]any{
		"slice": []any{newChain(40_000), blob},
		"map":   map[string]any{"tree": newChain(40_000), "blob": blob},
	} {
		t.Run(name, func(t *testing.T) {
			for range 10 { // a map's order is random
				n, ok := Measure(v)
				require.True(t, ok)
				assert.GreaterOrEqual(t, n, len(blob)+40_000*24)
			}
		})
	}
}
