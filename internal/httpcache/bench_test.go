package httpcache

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkServe compares serving a stored 2 KiB JSON response with a bare
// handler writing the same body, both into an httptest.ResponseRecorder.
func BenchmarkServe(b *testing.B) {
	body := []byte(`{"items":"` + strings.Repeat("x", 2048-12) + `"}`)
	r := httptest.NewRequest(http.MethodGet, "/products?page=1", nil)
	bare := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	s := NewSnapshot(200, http.Header{"Content-Type": {"application/json"}}, body, time.Now())

	b.Run("handler=bare/size=2KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			bare.ServeHTTP(httptest.NewRecorder(), r)
		}
	})
	b.Run("handler=hit/size=2KiB", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			s.Serve(httptest.NewRecorder(), r, time.Now(), "X-Cache", Hit)
		}
	})
	b.Run("handler=hit-304/size=2KiB", func(b *testing.B) {
		r := r.Clone(r.Context())
		r.Header.Set("If-None-Match", s.ETag)
		b.ReportAllocs()
		for b.Loop() {
			s.Serve(httptest.NewRecorder(), r, time.Now(), "X-Cache", Hit)
		}
	})
}

func BenchmarkDecode(b *testing.B) {
	body := []byte(strings.Repeat("x", 2048))
	data := NewSnapshot(200, http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"public"}}, body, time.Now()).Encode(nil)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewSnapshot(b *testing.B) {
	for _, size := range []int{2 << 10, 1 << 20} {
		body := []byte(strings.Repeat("x", size))
		h := http.Header{"Content-Type": {"application/json"}}
		b.Run("size="+sizeName(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				NewSnapshot(200, h, body, time.Now())
			}
		})
	}
}

func sizeName(n int) string {
	if n >= 1<<20 {
		return strconv.Itoa(n>>20) + "MiB"
	}
	return strconv.Itoa(n>>10) + "KiB"
}
