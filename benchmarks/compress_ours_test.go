package benchmarks

import (
	"slices"

	"github.com/go-caching/caching/compress"
)

// Our compress middleware joins the comparison of compress_test.go, once per
// encoding, each at its default level (gzip 6, zstd 3, brotli 4), with only
// that encoding enabled.
func init() {
	ours := func(enc string) compressImpl {
		return compressImpl{"caching-" + enc, enc, compress.Must(compress.Options{Algorithms: []string{enc}}).Handler}
	}
	compressImpls = slices.Insert(compressImpls, 1, ours("gzip"))
	compressImpls = append(compressImpls, ours("zstd"), ours("br"))
}
