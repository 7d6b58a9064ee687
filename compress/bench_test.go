package compress_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
	"github.com/go-caching/caching/internal/testutil"
)

// discardWriter is a cheap http.ResponseWriter (and Flusher) that counts the
// body, so that benchmarks measure the middleware rather than a recorder.
type discardWriter struct {
	h    http.Header
	code int
	n    int
}

func newDiscard() *discardWriter { return &discardWriter{h: make(http.Header, 8)} }

func (d *discardWriter) reset() {
	clear(d.h)
	d.code, d.n = 0, 0
}
func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }
func (d *discardWriter) Write(p []byte) (int, error) { d.n += len(p); return len(p), nil }
func (d *discardWriter) Flush()                      {}

var (
	ctJSON  = []string{"application/json"}
	body20k = jsonBody(20 << 10)
	body200 = jsonBody(200)
)

// jsonHandler writes body without allocating (Content-Type set from a
// shared slice), so that allocations measured are the middleware's.
func jsonHandler(body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Type"] = ctJSON
		_, _ = w.Write(body)
	})
}

func TestPassThroughDoesNotAllocate(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are not meaningful under -race")
	}
	c := compress.Must(compress.Options{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip, br, zstd")
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{
		{"below MinSize", jsonHandler(body200)},
		{"not compressible", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = []string{"image/png"}
			_, _ = w.Write(body20k)
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := c.Handler(tc.h)
			w := newDiscard()
			h.ServeHTTP(w, req) // warm the pool
			allocs := testutil.AllocsPerRun(200, func() {
				w.reset()
				h.ServeHTTP(w, req)
			})
			bare := testutil.AllocsPerRun(200, func() {
				w.reset()
				tc.h.ServeHTTP(w, req)
			})
			assert.Equal(t, bare, allocs, "the middleware adds no allocation")
			assert.Empty(t, w.h.Get("Content-Encoding"))
		})
	}
}

func BenchmarkCompress(b *testing.B) {
	c := compress.Must(compress.Options{})
	h := c.Handler(jsonHandler(body20k))
	for _, enc := range []string{"gzip", "zstd", "br", "deflate"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Accept-Encoding", enc)
		w := newDiscard()
		h.ServeHTTP(w, req)
		if got := w.h.Get("Content-Encoding"); got != enc {
			b.Fatalf("got Content-Encoding %q, want %q", got, enc)
		}
		size := float64(w.n)
		b.Run("enc="+enc+"/size=20KiB", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body20k)))
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, req)
			}
			b.ReportMetric(size, "compressed-B")
		})
		b.Run("enc="+enc+"/size=20KiB/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body20k)))
			b.RunParallel(func(pb *testing.PB) {
				w := newDiscard()
				for pb.Next() {
					w.reset()
					h.ServeHTTP(w, req)
				}
			})
			b.ReportMetric(size, "compressed-B")
		})
	}
}

// BenchmarkPassThrough compares a 200-byte response (below MinSize) through
// the middleware with the bare handler, in the same run.
func BenchmarkPassThrough(b *testing.B) {
	bare := jsonHandler(body200)
	wrapped := compress.Must(compress.Options{}).Handler(bare)
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	for _, tc := range []struct {
		name string
		h    http.Handler
	}{{"handler=bare", bare}, {"handler=compress", wrapped}} {
		b.Run(tc.name+"/size=200B", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body200)))
			w := newDiscard()
			for b.Loop() {
				w.reset()
				tc.h.ServeHTTP(w, req)
			}
		})
		b.Run(tc.name+"/size=200B/parallel", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body200)))
			b.RunParallel(func(pb *testing.PB) {
				w := newDiscard()
				for pb.Next() {
					w.reset()
					tc.h.ServeHTTP(w, req)
				}
			})
		})
	}
}

func BenchmarkNegotiate(b *testing.B) {
	c := compress.Must(compress.Options{})
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Negotiate(r)
	}
}
