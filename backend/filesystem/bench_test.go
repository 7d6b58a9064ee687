package filesystem_test

import (
	"fmt"
	"testing"

	"github.com/go-caching/caching/backend/filesystem"
)

// BenchmarkStore measures Get (hits) and Set (overwrites) with the store
// holding n entries of 1 KiB. The entries are written once per size.
func BenchmarkStore(b *testing.B) {
	value := make([]byte, 1024)
	for _, n := range []int{10_000, 100_000} {
		s, err := filesystem.New(filesystem.Options{Dir: b.TempDir(), MaxEntries: -1, MaxBytes: -1, SweepInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i] = fmt.Sprintf("key/%d", i)
			if err := s.Set(bg, keys[i], value, 0); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(fmt.Sprintf("op=Get/entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			i := 0
			for b.Loop() {
				if _, err := s.Get(bg, keys[i%n]); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
		b.Run(fmt.Sprintf("op=GetParallel/entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					if _, err := s.Get(bg, keys[i%n]); err != nil {
						b.Fatal(err)
					}
					i += 7919
				}
			})
		})
		b.Run(fmt.Sprintf("op=Set/entries=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			i := 0
			for b.Loop() {
				if err := s.Set(bg, keys[i%n], value, 0); err != nil {
					b.Fatal(err)
				}
				i += 7919
			}
		})
		s.Close()
	}
}
