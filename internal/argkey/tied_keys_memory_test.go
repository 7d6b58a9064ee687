package argkey

import (
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
)

// keyNode is a map key that holds a map of such keys: the encoding of a key
// holds the (sorted) encoding of the map within it.
type keyNode struct {
	M    map[*keyNode]int
	Data string
}

// tiedChains are values nested levels deep around a leaf string, at each
// level in a map of two pairs whose encoding the encoder cannot write
// straight into its output: the nested value sits in the value of a NaN key
// beside another NaN key (map[any]any from a decoder that allows NaN keys:
// CBOR, msgpack, YAML's .nan), in the value of a pointer key beside a
// pointer to an equal value, or in a key itself (a pointer to a struct
// holding a map of such keys).
func tiedChains(levels int, leaf string) map[string]any {
	var nan any = leaf
	for range levels {
		m := map[any]any{}
		m[math.NaN()] = nan
		m[math.NaN()] = 1
		nan = m
	}
	one := func() *int { n := 1; return &n }
	var ptr any = leaf
	for range levels {
		ptr = map[*int]any{one(): ptr, one(): 1}
	}
	key := &keyNode{Data: leaf}
	for range levels {
		key = &keyNode{M: map[*keyNode]int{key: 1, {}: 2}}
	}
	return map[string]any{"NaN keys": nan, "equal pointer keys": ptr, "map in key": key}
}

// allocated returns the bytes one AppendOf of v allocates, and its key.
func allocated(t *testing.T, v any) (uint64, []byte) {
	t.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b, err := AppendOf(nil, v)
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	return after.TotalAlloc - before.TotalAlloc, b
}

// TestTiedKeysNestedAllocateLinearly: 9bc07c7 made the encoder write each
// value of a map once, but the pairs it cannot order by their keys alone
// (keys that encode alike) and the keys themselves still went through a
// scratch buffer per level of maps, each copied into the next level's: a
// 314 KB leaf nested 4,000 maps deep allocated 850 MB, for an argument a
// client can send in one request body. The bytes one key allocates are now
// bounded by a small multiple of the key itself: 8 times its length (the
// output buffer, the one the caller gets, and the space aside, each grown
// by doubling), plus 2 KiB per level for what each map costs whatever its
// size (its iterator, its pairs, its place in the cycle check). Here a 32
// KB leaf nested 500 levels deep (which moves less than maxMoved: it
// encodes; with a buffer per level it allocated 500 times the leaf).
func TestTiedKeysNestedAllocateLinearly(t *testing.T) {
	const levels = 500
	leaf := strings.Repeat("x", 32<<10)
	for name, v := range tiedChains(levels, leaf) {
		t.Run(name, func(t *testing.T) {
			alloc, key := allocated(t, v)
			t.Logf("key %d KiB; one AppendOf allocated %d KiB", len(key)>>10, alloc>>10)
			if limit := uint64(8*len(key) + levels*2<<10); alloc > limit {
				t.Fatalf("encoding a %d-byte key allocated %d bytes (> %d): a copy per level of maps", len(key), alloc, limit)
			}
		})
	}
}

// TestTiedKeysNestedTooDeepForTheirSize: each level of such maps moves what
// it holds once more, so that a 1 MB leaf nested 9,000 levels deep took
// seconds of CPU for one key (9 GB moved), for a body a client can send.
// Past 64 MiB moved the argument is refused (ErrUnsupported, as one nested
// too deep), having allocated a small multiple of that at most.
func TestTiedKeysNestedTooDeepForTheirSize(t *testing.T) {
	const levels = 9000
	leaf := strings.Repeat("x", 1<<20)
	chains := tiedChains(levels, leaf)
	// A map in a key takes four levels of depth a level: 9,000 of them
	// are refused for their depth, before they move 64 MiB; 200 move more.
	chains["map in key"] = tiedChains(200, leaf)["map in key"]
	for name, v := range chains {
		t.Run(name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			_, err := AppendOf(nil, v)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "bytes moved") {
				t.Fatalf("err = %v, want ErrUnsupported for the bytes moved", err)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
				t.Fatalf("refusing it allocated %d bytes", alloc)
			}
		})
	}
	// Ordinary nesting of that leaf, keys that encode apart, moves nothing.
	var deep any = leaf
	for range levels {
		deep = map[string]any{"a": deep, "b": 1}
	}
	if _, err := AppendOf(nil, deep); err != nil {
		t.Fatal(err)
	}
}

// TestTiedKeysNestedMatchReference: those values keep the bytes the
// reference encoder gives them (which copies them at every level: a few
// hundred levels here), and so does a map whose tied values and keys both
// hold such chains.
func TestTiedKeysNestedMatchReference(t *testing.T) {
	for _, levels := range []int{1, 2, 3, 17, 300} {
		chains := tiedChains(levels, "leaf")
		for _, v := range chains {
			checkAgainstReference(t, v)
		}
		checkAgainstReference(t, chains)
		both := map[any]any{}
		both[math.NaN()] = chains
		both[math.NaN()] = tiedChains(levels, "leaf2")
		both[chains["map in key"]] = chains["NaN keys"]
		checkAgainstReference(t, both)
	}
}
