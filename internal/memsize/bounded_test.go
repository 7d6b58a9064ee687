package memsize

import (
	"container/list"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chain is a singly linked list of n nodes.
type chain struct {
	next *chain
	val  string
}

func newChain(n int) *chain {
	var head *chain
	for range n {
		head = &chain{next: head, val: "v"}
	}
	return head
}

// TestOfLongChainEndsQuickly: the walk recursed once per pointer, with no
// bound but the stack: a linked list of a few hundred thousand nodes took
// seconds, and one of a million (a container/list a client chose the
// length of) overflowed the goroutine's stack, a fatal error no recover
// catches. A chain of 2,000,000 nodes is now refused as too big to
// measure, without growing the stack, after at most walkBudget visits (a
// count, not a time: the work is bounded whatever the machine's speed).
func TestOfLongChainEndsQuickly(t *testing.T) {
	for name, v := range map[string]any{
		"own type":       newChain(2_000_000),
		"container/list": longList(2_000_000),
	} {
		t.Run(name, func(t *testing.T) {
			_ = Of(v) // does not crash
			_, ok := Measure(v)
			assert.False(t, ok, "a chain of 2,000,000 nodes is too big to measure")
			n, _ := steps(v)
			assert.LessOrEqual(t, n, walkBudget+1, "visits")
		})
	}
}

func longList(n int) *list.List {
	l := list.New()
	for i := range n {
		l.PushBack(i)
	}
	return l
}

// TestMeasureShortChain: a chain well within the budget is measured, every
// node counted.
func TestMeasureShortChain(t *testing.T) {
	n, ok := Measure(newChain(1000))
	require.True(t, ok)
	assert.GreaterOrEqual(t, n, 1000*(24+1))
	assert.Less(t, n, 1000*64)
}

// TestOfCountsWhatFollowsALargeCollection: once the walk had visited its
// budget of values, what it had not reached counted nothing, and a slice
// was extrapolated from its first elements: a value whose first field is a
// long slice of short strings and whose second holds 64 MiB counted
// 1.2 MB, and so did a slice whose large elements all come last, letting
// an in-process store hold 50 times its byte bound. Each collection is now
// sampled across its whole length, and every field is reached.
func TestOfCountsWhatFollowsALargeCollection(t *testing.T) {
	t.Run("a later field", func(t *testing.T) {
		type dataset struct {
			Names []string
			Blobs [][]byte
		}
		d := &dataset{Names: make([]string, 70_000)}
		for i := range d.Names {
			d.Names[i] = "n"
		}
		for range 8 {
			d.Blobs = append(d.Blobs, make([]byte, 8<<20))
		}
		held := 8 * (8 << 20)
		got := Of(d)
		assert.GreaterOrEqual(t, got, held, "the blobs alone hold %d bytes", held)
		assert.Less(t, got, held*11/10)
	})
	t.Run("large elements last", func(t *testing.T) {
		v := make([][]byte, 70_000)
		for i := 66_000; i < len(v); i++ {
			v[i] = make([]byte, 16<<10)
		}
		held := len(v)*24 + 4000*(16<<10)
		got := Of(v)
		assert.InEpsilon(t, held, got, 0.1, "the slice holds %d bytes, Of counts %d", held, got)
	})
}

// TestOfAliasedAddresses: the objects counted were remembered by address
// alone, so a small object counted first hid a larger one at the same
// address: a slice of a buffer's first bytes hid the buffer, a pointer to
// a struct's first field hid the struct. The larger extent now counts.
func TestOfAliasedAddresses(t *testing.T) {
	t.Run("slices", func(t *testing.T) {
		big := make([]byte, 8<<20)
		v := struct{ Magic, Body []byte }{big[:4:4], big}
		got := Of(v)
		assert.GreaterOrEqual(t, got, 8<<20)
		assert.Less(t, got, 8<<20+1024, "the buffer is counted once")
	})
	t.Run("pointers", func(t *testing.T) {
		type hdr struct{ a, b int64 }
		type doc struct {
			h    hdr
			data [1 << 20]byte
		}
		d := new(doc)
		d.h, d.data[0] = hdr{1, 2}, 3
		v := struct {
			H *hdr
			D *doc
		}{&d.h, d}
		got := Of(v)
		assert.GreaterOrEqual(t, got, 1<<20)
		assert.Less(t, got, 1<<20+1024, "the doc is counted once")
	})
}

// TestMeasureOrdinaryValues: values of the shapes caches hold, large ones
// included, are measured (ok), as Of counts them.
func TestMeasureOrdinaryValues(t *testing.T) {
	type item struct {
		ID   int
		Name string
		Tags []string
	}
	items := make([]item, 100_000)
	for i := range items {
		items[i] = item{ID: i, Name: "item name", Tags: []string{"a", "b"}}
	}
	m := map[string][]string{}
	for i := range 50_000 {
		m[string(rune('a'+i%26))+string(rune(i))] = []string{"x", "y"}
	}
	for name, v := range map[string]any{
		"product":       newProduct(1),
		"slice":         items,
		"map of slices": m,
		"big bytes":     make([]byte, 64<<20),
	} {
		t.Run(name, func(t *testing.T) {
			n, ok := Measure(v)
			assert.True(t, ok)
			assert.InEpsilon(t, Of(v), n, 0.05) // a large map is sampled at random
		})
	}
}

// TestMeasureStringGrid: strings are leaves, counted without a visit each,
// so a collection of string collections (a [][]string of 600×600) is
// measured: visited one by one, its 360,000 strings used up the budget and
// the value was refused.
func TestMeasureStringGrid(t *testing.T) {
	grid := make([][]string, 600)
	want := 0
	for i := range grid {
		grid[i] = make([]string, 600)
		for j := range grid[i] {
			grid[i][j] = strings.Repeat("x", (i+j)%7)
			want += len(grid[i][j])
		}
	}
	n, ok := Measure(grid)
	if !ok {
		t.Fatal("a 600×600 grid of strings is too big to measure")
	}
	if min := want + 600*600*16; n < min {
		t.Errorf("Measure = %d, less than its string bytes and headers (%d)", n, min)
	}
}
