package header_test

import (
	"net/http"
	"testing"

	"github.com/go-caching/caching/internal/header"
)

// BenchmarkCanonicalize measures the check of an already canonical header,
// the cost every committed response pays.
func BenchmarkCanonicalize(b *testing.B) {
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"keys=1", http.Header{"Content-Type": {"application/json"}}},
		{"keys=6", http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"max-age=60"}, "Etag": {`"x"`},
			"Vary": {"Accept-Encoding"}, "X-Request-Id": {"abc"}, "Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				header.Canonicalize(tc.h)
			}
		})
	}
}

func BenchmarkParseAcceptEncoding(b *testing.B) {
	lines := []string{"gzip, deflate, br, zstd"}
	prefs := []header.Coding{header.Zstd, header.Brotli, header.Gzip, header.Deflate}
	b.ReportAllocs()
	for b.Loop() {
		a := header.ParseAcceptEncoding(lines)
		_ = a.Choose(prefs)
	}
}
