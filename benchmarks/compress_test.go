package benchmarks

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/NYTimes/gziphandler"
	"github.com/andybalholm/brotli"
	"github.com/klauspost/compress/gzhttp"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// The compression comparison (issue 9, point 5): each middleware compressing
// the same 20 KB JSON body at its default level, into an httptest recorder.
// Reported: ns/op, MB/s of uncompressed body, allocations, and the size of
// the compressed response (B/resp).

const apiSize = 20_000

var apiBody = jsonBody(apiSize)

// compressImpl is one contender: a middleware and the encoding it is asked
// for.
type compressImpl struct {
	name     string
	encoding string // Accept-Encoding sent, and Content-Encoding expected
	wrap     func(http.Handler) http.Handler
}

// compressImpls lists the contenders; ours join it from
// compress_ours_test.go.
var compressImpls = []compressImpl{
	{"identity", "", func(h http.Handler) http.Handler { return h }},
	{"gzhttp", "gzip", func(h http.Handler) http.Handler { return gzhttp.GzipHandler(h) }},
	// gzhttp's default is level 5 of klauspost/compress; ours and
	// gziphandler's are 6: this row compares at equal level.
	{"gzhttp-level6", "gzip", func(h http.Handler) http.Handler {
		wrap, err := gzhttp.NewWrapper(gzhttp.CompressionLevel(6))
		if err != nil {
			panic(err)
		}
		return wrap(h)
	}},
	{"gziphandler", "gzip", gziphandler.GzipHandler},
}

var apiHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(apiBody)
})

// BenchmarkCompress is one response compressed by each middleware.
func BenchmarkCompress(b *testing.B) {
	for _, impl := range compressImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h := impl.wrap(apiHandler)
			r := httptest.NewRequest(http.MethodGet, "/api", nil)
			if impl.encoding != "" {
				r.Header.Set("Accept-Encoding", impl.encoding)
			}
			size := checkCompressed(b, h, r, impl.encoding)
			b.ReportAllocs()
			b.SetBytes(int64(len(apiBody)))
			for b.Loop() {
				h.ServeHTTP(httptest.NewRecorder(), r)
			}
			b.ReportMetric(float64(size), "B/resp")
		})
	}
}

// BenchmarkCompressParallel is BenchmarkCompress from every core.
func BenchmarkCompressParallel(b *testing.B) {
	for _, impl := range compressImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h := impl.wrap(apiHandler)
			newReq := func() *http.Request {
				r := httptest.NewRequest(http.MethodGet, "/api", nil)
				if impl.encoding != "" {
					r.Header.Set("Accept-Encoding", impl.encoding)
				}
				return r
			}
			checkCompressed(b, h, newReq(), impl.encoding)
			b.ReportAllocs()
			b.SetBytes(int64(len(apiBody)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := newReq()
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), r)
				}
			})
		})
	}
}

// checkCompressed serves r once, checks the response carries the expected
// encoding and decodes to apiBody, and returns its size on the wire.
func checkCompressed(b *testing.B, h http.Handler, r *http.Request, encoding string) int {
	b.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if got := w.Header().Get("Content-Encoding"); got != encoding {
		b.Fatalf("Content-Encoding %q; want %q", got, encoding)
	}
	wire := w.Body.Bytes()
	var dec io.Reader
	switch encoding {
	case "":
		dec = bytes.NewReader(wire)
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(wire))
		if err != nil {
			b.Fatal(err)
		}
		dec = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(wire))
		if err != nil {
			b.Fatal(err)
		}
		defer zr.Close()
		dec = zr
	case "br":
		dec = brotli.NewReader(bytes.NewReader(wire))
	default:
		b.Fatalf("no decoder for %q", encoding)
	}
	got, err := io.ReadAll(dec)
	if err != nil {
		b.Fatalf("decoding %s: %v", encoding, err)
	}
	if !bytes.Equal(got, apiBody) {
		b.Fatalf("%s body decodes to %d bytes that differ from the %d sent", encoding, len(got), len(apiBody))
	}
	return len(wire)
}
