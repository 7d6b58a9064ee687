package argkey

import (
	"runtime"
	"sync/atomic"
	"testing"
)

type deepLeaf struct{ Data []byte }

// encodeReflect trimmed the pooled scratch to maxPooledLevel (8) levels with
// s.maps = e.sorting[:8], and cleared only those 8 levels' pairs. The
// backing array of e.sorting kept every deeper level's mapScratch: its
// keys buffer (any size) and its pairs, whose reflect.Values point into the
// argument. So one deeply nested argument (a client's JSON filter) stayed
// reachable from the pool for as long as the pool was in use: here a 64 MiB
// leaf nested 20 maps deep must be collected while the service keeps
// encoding small keys.
func TestPoolDropsDeepMapLevels(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	var freed atomic.Bool
	func() {
		leaf := &deepLeaf{Data: make([]byte, 64<<20)}
		runtime.SetFinalizer(leaf, func(*deepLeaf) { freed.Store(true) })
		var v any = leaf
		for range 20 {
			v = map[string]any{"a": v, "b": 1}
		}
		if _, err := AppendOf(nil, v); err != nil {
			t.Fatal(err)
		}
	}()
	for range 10 {
		runtime.GC()
		// Other requests keep the pooled scratch in use.
		if _, err := AppendOf(nil, map[string]any{"a": 1, "b": 2}); err != nil {
			t.Fatal(err)
		}
	}
	runtime.GC()
	if !freed.Load() {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		t.Fatalf("the argument (64 MiB) is still reachable from the pooled scratch after 10 GCs; heap in use %d MiB", ms.HeapInuse>>20)
	}
}
