package benchmarks

import (
	"context"
	"slices"
	"testing"

	"github.com/go-caching/caching"
)

// Our Memoize joins the comparison of memo_test.go: on the default
// in-process store (backend/simple), the key derived from the argument value.
func init() {
	memoImpls = slices.Insert(memoImpls, 0, memoImpl{"caching", func(b *testing.B, fn func(context.Context, statsArgs) (stats, error)) func(context.Context, statsArgs) (stats, error) {
		c := caching.Must(nil)
		b.Cleanup(func() { _ = c.Close() })
		return caching.Memoize(c, "stats", fn, caching.TTL(memoTTL)).Get
	}})
}
