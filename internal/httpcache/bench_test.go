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

// BenchmarkVariantKey measures keying a request on a browser's
// Accept-Encoding and Accept-Language.
func BenchmarkVariantKey(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd")
	r.Header.Set("Accept-Language", "en-US,en;q=0.9,fr;q=0.8")
	names := []string{"Accept-Encoding", "Accept-Language"}
	b.ReportAllocs()
	for b.Loop() {
		_ = VariantKey(r, names)
	}
}

// BenchmarkVariantKeyBrowser keys a request with the fields a browser
// sends (a dozen), the cost a Vary hit pays to look for '_' spellings
// among them included.
func BenchmarkVariantKeyBrowser(b *testing.B) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	for k, v := range map[string]string{
		"Accept":             "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"Accept-Encoding":    "gzip, deflate, br, zstd",
		"Accept-Language":    "en-US,en;q=0.9,fr;q=0.8",
		"Cache-Control":      "max-age=0",
		"Connection":         "keep-alive",
		"Cookie":             "session=abc123; theme=dark",
		"Priority":           "u=0, i",
		"Sec-Ch-Ua":          `"Chromium";v="131", "Not_A Brand";v="24"`,
		"Sec-Ch-Ua-Mobile":   "?0",
		"Sec-Ch-Ua-Platform": `"Linux"`,
		"Sec-Fetch-Dest":     "document",
		"Sec-Fetch-Mode":     "navigate",
		"Sec-Fetch-Site":     "none",
		"User-Agent":         "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
	} {
		r.Header.Set(k, v)
	}
	names := []string{"Accept-Encoding", "Accept-Language"}
	b.ReportAllocs()
	for b.Loop() {
		_ = VariantKey(r, names)
	}
}

func BenchmarkParseCacheControl(b *testing.B) {
	lines := []string{`public, max-age=60, s-maxage=30, stale-while-revalidate=10`, `no-cache="Set-Cookie, X-Id"`}
	b.ReportAllocs()
	for b.Loop() {
		_ = ParseCacheControl(lines)
	}
}

// BenchmarkRecorder measures recording a 2 KiB response: commit (header
// checks and copy), the write and Finish.
func BenchmarkRecorder(b *testing.B) {
	body := []byte(strings.Repeat("x", 2048))
	w := httptest.NewRecorder()
	var p Policy
	rec := Recorder{Check: func(status int, h http.Header) Reason {
		_, reason := p.Response(status, h, time.Minute)
		return reason
	}}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		clear(w.Header())
		w.Body.Reset()
		rw := rec.Reset(w)
		h := rw.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Cache-Control"] = []string{"public, max-age=60"}
		_, _ = rw.Write(body)
		_, _, _, _ = rec.Finish()
	}
}
