package simple_test

import (
	"testing"
	"time"

	"github.com/go-caching/caching/backend/simple"
)

// The hits of entries with a TTL read the store's clock; those of
// BenchmarkGetHit (no TTL) do not.

// ttlStore returns a store holding every bench key, as a byte value under
// the key and as a Go value under "v"+key, with a TTL of an hour.
func ttlStore(b *testing.B) *simple.Store {
	s := simple.Must(simple.Options{MaxEntries: 4 * benchKeys})
	b.Cleanup(func() { _ = s.Close() })
	v := make([]byte, valueSize)
	for _, k := range benchKeyNames {
		if err := s.Set(b.Context(), k, v, time.Hour); err != nil {
			b.Fatal(err)
		}
		if err := s.StoreValue("v"+k, k, valueSize, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// BenchmarkGetHitTTL is BenchmarkGetHit of entries with a TTL.
func BenchmarkGetHitTTL(b *testing.B) { benchGets(b, ttlStore(b), zipfTrace(zipfS)) }

// BenchmarkLoadValueHit is LoadValue's and LoadValueAt's hit of Go values
// with a TTL, in Zipf order; LoadValueAt is given one time.Now reading, as
// a request's lookups share their caller's.
func BenchmarkLoadValueHit(b *testing.B) {
	trace := make([]string, traceLen) // zipfTrace's is shared: not changed
	for i, k := range zipfTrace(zipfS) {
		trace[i] = "v" + k
	}
	s := ttlStore(b)
	b.Run("LoadValue", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		cpu0 := processCPUTime()
		for b.Loop() {
			if _, ok := s.LoadValue(trace[i&(traceLen-1)]); !ok {
				b.Fatal("miss")
			}
			i++
		}
		reportCPU(b, cpu0)
	})
	b.Run("LoadValueAt", func(b *testing.B) {
		now := time.Now()
		b.ReportAllocs()
		i := 0
		cpu0 := processCPUTime()
		for b.Loop() {
			if _, ok := s.LoadValueAt(trace[i&(traceLen-1)], now); !ok {
				b.Fatal("miss")
			}
			i++
		}
		reportCPU(b, cpu0)
	})
}
