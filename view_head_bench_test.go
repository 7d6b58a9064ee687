package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkSharedCacheHeadRevalidate is a HEAD that a SharedCache view's
// stored GET answers only once revalidated (no-cache): the handler runs
// for each (view.head, runHead), into a reused discarding writer. Its
// allocations are the run's own.
func BenchmarkSharedCacheHeadRevalidate(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("ETag", `"v1"`)
		_, _ = w.Write(benchBody)
	})
	v := benchCache(b, false).Cached(time.Hour, SharedCache())(h)
	v.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/p", nil)) // the GET's entry
	r := httptest.NewRequest(http.MethodHead, "/p", nil)
	d := &discardWriter{h: make(http.Header)}
	b.ReportAllocs()
	for b.Loop() {
		clear(d.h)
		v.ServeHTTP(d, r)
	}
}
