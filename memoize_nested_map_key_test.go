package caching

import (
	"context"
	"encoding/json"
	"runtime"
	"strings"
	"testing"
)

// TestMemoizeNestedMapKeyIsLinear: a memoized function whose argument is a
// client's JSON filter (map[string]any, decoded from a request body).
// encoding/json accepts 10,000 levels of nesting; argkey accepts them too
// (maxDepth 20,000 counts each map and each interface value). The key
// encoder sorted each map's pairs by copying the whole encoding of the
// map's contents (bytes.Clone(buf[start:]) and back), at every level: a
// value nested d maps deep around a string of n bytes cost d*n bytes
// copied and allocated, for a request of about n bytes. A client's 259 KB
// request made the server allocate 3 GB and spend seconds of CPU per Get.
// The bytes a key allocates now grow with the argument, not with its
// nesting times its size; maps of one pair and of two are both checked
// (one pair needs no sorting at all).
func TestMemoizeNestedMapKeyIsLinear(t *testing.T) {
	const depth = 9000
	leaf := `"` + strings.Repeat("x", 200<<10) + `"`
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := Memoize(c, "search", func(_ context.Context, f map[string]any) (int, error) { return len(f), nil })
	for _, tc := range []struct{ name, open, close string }{
		{"one pair", `{"a":`, `}`},
		{"two pairs", `{"b":1,"a":`, `}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := strings.Repeat(tc.open, depth) + leaf + strings.Repeat(tc.close, depth)
			var arg map[string]any
			if err := json.Unmarshal([]byte(body), &arg); err != nil {
				t.Fatal(err)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			if _, err := m.Key(arg); err != nil {
				t.Fatal(err)
			}
			runtime.ReadMemStats(&after)
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("request body %d bytes; one key allocated %d KiB", len(body), alloc>>10)
			// The encoding itself is about len(body) bytes (plus a type name
			// per level); allow a generous 64 times the body.
			if limit := uint64(64 * len(body)); alloc > limit {
				t.Fatalf("making the key of a %d-byte argument allocated %d bytes (> %d): quadratic in the nesting", len(body), alloc, limit)
			}
		})
	}
}
