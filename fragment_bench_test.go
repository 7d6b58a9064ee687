package caching

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"
)

// BenchmarkFragment measures a fragment hit, and a miss that renders 64
// KiB and stores it (after a Delete of the key, which each iteration of
// the miss includes).
func BenchmarkFragment(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{2 << 10, 64 << 10} {
		body := bytes.Repeat([]byte("x"), size)
		render := func(w io.Writer) error {
			_, err := w.Write(body)
			return err
		}
		for _, st := range benchStores {
			name := fmt.Sprintf("store=%s/size=%dKiB", st.name, size>>10)
			b.Run("op=hit/"+name, func(b *testing.B) {
				c := st.open(b)
				if _, err := c.Fragment(ctx, "f", time.Hour, render); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if _, err := c.Fragment(ctx, "f", time.Hour, render); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("op=miss/"+name, func(b *testing.B) {
				c := st.open(b)
				b.ReportAllocs()
				b.SetBytes(int64(size))
				for b.Loop() {
					if err := c.Delete(ctx, "f"); err != nil {
						b.Fatal(err)
					}
					if _, err := c.Fragment(ctx, "f", time.Hour, render); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
