package simple_test

import (
	"context"
	"runtime"
	"strconv"
	"testing"

	"github.com/go-caching/caching/backend/simple"
)

// liveHeap is the heap in use after a full collection.
func liveHeap() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// heapFixed is the fixed overhead of a store beyond 1.5×MaxBytes that
// TestLiveHeapStaysWithinTheByteBound allows: the Store, its shards and
// their first index groups, a few KiB.
const heapFixed = 64 << 10

// TestLiveHeapStaysWithinTheByteBound fills stores far past MaxBytes with
// entries of each kind and checks the heap they hold, measured after a
// collection: at most 1.5×MaxBytes plus heapFixed, because each entry
// counts its bookkeeping (EntryOverhead, ValueOverhead) as well as its key
// and value.
func TestLiveHeapStaysWithinTheByteBound(t *testing.T) {
	if testing.Short() {
		t.Skip("allocates a few hundred MiB")
	}
	const maxBytes = 4 << 20
	ctx := context.Background()
	cases := []struct {
		name string
		n    int // entries written, several times what fits
		put  func(s *simple.Store, i int) error
	}{
		{"tiny byte values", 1 << 18, func(s *simple.Store, i int) error {
			return s.Set(ctx, "tiny:"+strconv.Itoa(i), []byte{1}, 0)
		}},
		{"64 KiB byte values", 250, func(s *simple.Store, i int) error {
			return s.Set(ctx, "large:"+strconv.Itoa(i), make([]byte, 64<<10), 0)
		}},
		{"Go values of 1 KiB", 12_500, func(s *simple.Store, i int) error {
			// A pointer in an interface: the value is the 1 KiB array.
			return s.StoreValue("value:"+strconv.Itoa(i), new([1024]byte), 1024, 0)
		}},
		{"tiny Go values", 1 << 18, func(s *simple.Store, i int) error {
			return s.StoreValue("value:"+strconv.Itoa(i), true, 0, 0)
		}},
		{"tiny byte values, then 64 KiB ones", 1<<18 + 250, func(s *simple.Store, i int) error {
			// The large values evict the tiny ones: the index and slots
			// sized for the tiny ones must not stay.
			if i < 1<<18 {
				return s.Set(ctx, "tiny:"+strconv.Itoa(i), []byte{1}, 0)
			}
			return s.Set(ctx, "large:"+strconv.Itoa(i), make([]byte, 64<<10), 0)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := liveHeap()
			s, err := simple.New(simple.Options{MaxEntries: 1 << 30, MaxBytes: maxBytes, Shards: 4, SweepInterval: -1})
			if err != nil {
				t.Fatal(err)
			}
			for i := range tc.n {
				if err := tc.put(s, i); err != nil {
					t.Fatal(err)
				}
			}
			held := liveHeap() - before
			st := s.Stats()
			t.Logf("%d entries held, %d bytes counted; live heap %.2f MiB = %.2f×MaxBytes, %.0f B per entry",
				st.Entries, st.Bytes, float64(held)/(1<<20), float64(held)/maxBytes, float64(held)/float64(st.Entries))
			if st.Evictions == 0 {
				t.Fatal("the store was not filled past its bound")
			}
			if limit := int64(maxBytes*3/2 + heapFixed); held > limit {
				t.Errorf("live heap %d bytes, over 1.5×MaxBytes plus %d (%d)", held, heapFixed, limit)
			}
			runtime.KeepAlive(s)
			_ = s.Close()
		})
	}
}
