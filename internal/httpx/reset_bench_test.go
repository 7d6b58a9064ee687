package httpx

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkWriterReset: a reused (pooled) Writer's Reset, which attaches
// a handle never attached before (Fresh.Next) in every response.
func BenchmarkWriterReset(b *testing.B) {
	var w Writer
	rw := httptest.NewRecorder()
	b.ReportAllocs()
	for b.Loop() {
		ww := w.Reset(rw, nil)
		ww.WriteHeader(http.StatusOK)
		w.Detach()
	}
}
