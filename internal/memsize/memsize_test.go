package memsize

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"
)

type product struct {
	ID       int64
	Name     string
	Tags     []string
	Price    float64
	Attrs    map[string]string
	Created  time.Time
	Parent   *product
	internal []int
}

func newProduct(i int) *product {
	return &product{
		ID:       int64(i),
		Name:     strings.Repeat("n", 20+i%7),
		Tags:     []string{fmt.Sprint("tag", i), "b", "c"},
		Price:    float64(i),
		Attrs:    map[string]string{"color": fmt.Sprint("red", i), "size": "xl"},
		Created:  time.Unix(int64(i), 0),
		internal: make([]int, 16),
	}
}

// measured returns the heap bytes one value made by mk holds, as the
// runtime counts them, averaged over many: the least of three rounds, since
// what else the process allocates meanwhile (the runtime's, the race
// detector's, the testing package's goroutines) only adds to a round, and
// a boxed int64 under -race (16 bytes, estimated 8) fails the factor of two
// with 0.8 bytes of such noise per value (CI saw 19 bytes once).
func measured(mk func(i int) any) float64 {
	least := measuredOnce(mk)
	for range 2 {
		least = min(least, measuredOnce(mk))
	}
	return least
}

// measuredOnce is one round of measured.
func measuredOnce(mk func(i int) any) float64 {
	const n = 2000
	keep := make([]any, n)
	// Two collections: the first can leave what died during it (the last
	// subtest's values among them) for the next, and an 8-byte value times
	// n is within that noise.
	runtime.GC()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := range keep {
		keep[i] = mk(i)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(keep)
	return (float64(after.HeapAlloc) - float64(before.HeapAlloc)) / n
}

// TestOfNearHeap: the estimate is within a factor of two of what the
// runtime counts, for the shapes memoized results have.
func TestOfNearHeap(t *testing.T) {
	for name, mk := range map[string]func(i int) any{
		"string":           func(i int) any { return strings.Repeat("x", 100+i%3) },
		"bytes 1KiB":       func(int) any { return make([]byte, 1024) },
		"struct pointer":   func(i int) any { return newProduct(i) },
		"struct value":     func(i int) any { return *newProduct(i) },
		"slice of structs": func(i int) any { s := make([]product, 20); s[0] = *newProduct(i); return s },
		"slice of pointers": func(i int) any {
			s := make([]*product, 10)
			for j := range s {
				s[j] = newProduct(i + j)
			}
			return s
		},
		"map of strings": func(i int) any {
			m := map[string]string{}
			for j := range 20 {
				m[fmt.Sprint(i, "k", j)] = "value"
			}
			return m
		},
		"slice of strings": func(i int) any {
			s := make([]string, 50)
			for j := range s {
				s[j] = fmt.Sprint("name-", i, "-", j, "-", strings.Repeat("x", j))
			}
			return s
		},
		"int":         func(i int) any { return int64(i) << 20 },
		"nested maps": func(i int) any { return map[string]any{"a": []any{1, "two", map[string]int{"x": i}}} },
	} {
		t.Run(name, func(t *testing.T) {
			got := float64(Of(mk(7)))
			want := measured(mk)
			t.Logf("Of = %.0f, runtime = %.0f (%.2fx)", got, want, got/want)
			// A factor of two, and the measurement's noise: a boxed
			// int64 (8 bytes) takes a 16-byte slot under -race, where
			// the runtime's tiny allocator is off, and read 16.01.
			if got < want/2.1 || got > want*2.1 {
				t.Fatalf("Of = %.0f bytes, the runtime counts %.0f", got, want)
			}
		})
	}
}

func TestOfSharedAndCycles(t *testing.T) {
	p := newProduct(1)
	p.Parent = p // a cycle ends
	one := Of(p)
	if one <= 0 {
		t.Fatal("a non-nil value has a size")
	}
	two := Of([]*product{p, p})
	if two > one+64 {
		t.Fatalf("a shared pointer counted twice: %d for one, %d for two", one, two)
	}
	if Of(nil) != 0 {
		t.Fatal("nil holds nothing")
	}
}

func TestOfBoundedWalk(t *testing.T) {
	big := make([]string, 4*walkBudget)
	for i := range big {
		big[i] = "abcdefgh"
	}
	got := Of(big)
	want := len(big)*16 + len(big)*8
	if got < want*9/10 || got > want*11/10 {
		t.Fatalf("extrapolated %d, want about %d", got, want)
	}
}

func BenchmarkOf(b *testing.B) {
	for name, v := range map[string]any{
		"product":  newProduct(1),
		"products": []*product{newProduct(1), newProduct(2), newProduct(3)},
		"string":   "abc",
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Of(v)
			}
		})
	}
}
