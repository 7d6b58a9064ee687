package benchmarks

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	cache "github.com/chenyahui/gin-cache"
	"github.com/chenyahui/gin-cache/persist"
	"github.com/gin-gonic/gin"

	"github.com/go-caching/caching/benchmarks/internal/e2e"
)

// The response cache comparison (issue 9, point 2): the hit path of each
// middleware in front of the same handler, serving a 2 KiB JSON body into an
// httptest recorder.

const (
	pageSize = 2 << 10
	pageURL  = "/products?page=1"
	pageTTL  = time.Hour
)

// page is the body of the end-to-end benchmark's route too (e2e.Page:
// TestPageIsTheE2EPage checks they are the same bytes).
var page = e2e.Page

// httpImpl builds one contender around a handler that counts its calls.
type httpImpl struct {
	name   string
	cached bool // a cache: the handler must run once, then every request is a hit
	new    func(b *testing.B, h http.HandlerFunc) http.Handler
}

// httpImpls lists the contenders; ours joins it from cached_test.go.
var httpImpls = []httpImpl{
	{"bare", false, func(_ *testing.B, h http.HandlerFunc) http.Handler { return h }},
	{"naive-map", true, func(_ *testing.B, h http.HandlerFunc) http.Handler { return e2e.Naive(h, "") }},
	{"gin-bare", false, func(_ *testing.B, h http.HandlerFunc) http.Handler {
		e := newGin()
		e.GET("/products", gin.WrapF(h))
		return e
	}},
	{"gin-cache", true, func(_ *testing.B, h http.HandlerFunc) http.Handler {
		e := newGin()
		e.GET("/products", cache.CacheByRequestURI(persist.NewMemoryStore(pageTTL), pageTTL), gin.WrapF(h))
		return e
	}},
}

func newGin() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	return gin.New() // no logger, no recovery: the cache alone
}

// pageHandler serves page as application/json and counts its calls.
var pageHandler = e2e.PageHandler

// serve runs one request and checks the response is the page.
func serve(h http.Handler, r *http.Request) error {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK || w.Body.Len() != len(page) {
		return fmt.Errorf("status %d, %d bytes; want 200, %d bytes", w.Code, w.Body.Len(), len(page))
	}
	return nil
}

// newPageServer returns impl around a fresh pageHandler, its cache filled
// by one request, and the handler's call counter.
func newPageServer(b *testing.B, impl httpImpl) (http.Handler, *atomic.Int64) {
	calls := new(atomic.Int64)
	h := impl.new(b, pageHandler(calls))
	if err := serve(h, httptest.NewRequest(http.MethodGet, pageURL, nil)); err != nil {
		b.Fatal(err)
	}
	return h, calls
}

// checkHits fails b if a cache ran the handler more than for its first miss.
func checkHits(b *testing.B, impl httpImpl, calls *atomic.Int64) {
	if impl.cached && calls.Load() != 1 {
		b.Fatalf("handler ran %d times; want 1 (hits are not hits)", calls.Load())
	}
}

// BenchmarkResponseHit is a request answered from the cache (after one
// miss has filled it), against the bare handler and gin's router alone.
func BenchmarkResponseHit(b *testing.B) {
	for _, impl := range httpImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h, calls := newPageServer(b, impl)
			r := httptest.NewRequest(http.MethodGet, pageURL, nil)
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				if err := serve(h, r); err != nil {
					b.Fatal(err)
				}
			}
			checkHits(b, impl, calls)
		})
	}
}

// BenchmarkResponseHitParallel is BenchmarkResponseHit from every core.
func BenchmarkResponseHitParallel(b *testing.B) {
	for _, impl := range httpImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h, calls := newPageServer(b, impl)
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				r := httptest.NewRequest(http.MethodGet, pageURL, nil)
				for pb.Next() {
					if err := serve(h, r); err != nil {
						b.Error(err) // not Fatal: this is not the benchmark's goroutine
						return
					}
				}
			})
			checkHits(b, impl, calls)
		})
	}
}

// BenchmarkResponseHitDiscard is BenchmarkResponseHit into a reused
// ResponseWriter that keeps nothing but the status and a byte count: without
// the recorder's allocations, which dominate BenchmarkResponseHit, it shows
// what each middleware itself costs.
func BenchmarkResponseHitDiscard(b *testing.B) {
	for _, impl := range httpImpls {
		b.Run("impl="+impl.name, func(b *testing.B) {
			h, calls := newPageServer(b, impl)
			r := httptest.NewRequest(http.MethodGet, pageURL, nil)
			w := &discardWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(len(page)))
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
				if w.status != http.StatusOK || w.n != len(page) {
					b.Fatalf("status %d, %d bytes; want 200, %d bytes", w.status, w.n, len(page))
				}
			}
			checkHits(b, impl, calls)
		})
	}
}

// discardWriter is a ResponseWriter that counts the body and keeps the
// status; reset makes it ready for the next response without allocating.
type discardWriter struct {
	h      http.Header
	status int
	n      int
}

func (w *discardWriter) reset()              { clear(w.h); w.status, w.n = 0, 0 }
func (w *discardWriter) Header() http.Header { return w.h }
func (w *discardWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// TestPageIsTheE2EPage checks that the end-to-end benchmark serves the 2 KiB
// JSON body of these benchmarks, as written by jsonBody.
func TestPageIsTheE2EPage(t *testing.T) {
	if want := jsonBody(pageSize); !bytes.Equal(e2e.Page, want) {
		t.Errorf("e2e.Page (%d bytes) is not jsonBody(%d) (%d bytes): regenerate internal/e2e/page.json", len(e2e.Page), pageSize, len(want))
	}
}
