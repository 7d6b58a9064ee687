package caching

import (
	"context"
	"math"
	"runtime"
	"strings"
	"testing"
)

// TestMemoizeNaNKeysNestedIsLinear: a memoized function whose argument is a
// client's document decoded into map[any]any by a decoder that allows NaN
// keys (CBOR, msgpack, YAML's .nan). The key encoder orders the pairs of
// keys that encode alike (every NaN) by their values, which it encoded
// aside, in a buffer per level of maps, each copied into the next level's:
// a 314 KB string nested 4,000 such maps deep made one Key allocate about
// 1.9 GB, so that a client could make each call of the service allocate
// gigabytes. The bytes a key allocates now grow with the argument: here (a
// 32 KB string nested 500 deep, under the bound on what ordering such maps
// may move, past which the argument is refused) at most 32 times its
// encoding (about 60 KB: the string, and a type name and two NaN keys per
// level), where they were about 300 times; TestTiedKeysNestedAllocateLinearly in internal/argkey
// bounds them closer, TestTiedKeysNestedTooDeepForTheirSize the refusal.
func TestMemoizeNaNKeysNestedIsLinear(t *testing.T) {
	const depth = 500
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := Memoize(c, "search", func(_ context.Context, f map[any]any) (int, error) { return len(f), nil })
	var arg any = strings.Repeat("x", 32<<10)
	for range depth {
		level := map[any]any{}
		level[math.NaN()] = arg
		level[math.NaN()] = 1
		arg = level
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	key, err := m.Key(arg.(map[any]any))
	runtime.ReadMemStats(&after)
	if err != nil {
		t.Fatal(err)
	}
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("key %q; one Key allocated %d KiB", key, alloc>>10)
	if limit := uint64(32 * 60 << 10); alloc > limit {
		t.Fatalf("making the key of a 32 KiB string nested %d maps deep allocated %d bytes (> %d): a copy per level of maps", depth, alloc, limit)
	}
}
