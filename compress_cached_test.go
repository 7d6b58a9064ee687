package caching

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/go-caching/caching/compress"
)

var catalogJSON = strings.Repeat(`{"id":1,"name":"desk lamp","price":19.99,"category":"home"},`, 60)

func decodeBody(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	body := w.Body.Bytes()
	switch enc := w.Header().Get("Content-Encoding"); enc {
	case "":
		return string(body)
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	return ""
}

// TestCachedAroundCompress is the recommended order: the cache stores one
// compressed variant per negotiated encoding, and a hit is served compressed
// without running the handler or the compressor again.
func TestCachedAroundCompress(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var runs atomic.Int64
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(compress.Middleware(compress.Options{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, catalogJSON)
		})))
	steps := []struct {
		accept, wantEnc, wantCache string
		wantRuns                   int64
	}{
		{"gzip", "gzip", "MISS", 1},
		{"gzip", "gzip", "HIT", 1},
		{"zstd, gzip;q=0.5", "zstd", "MISS", 2},
		{"zstd, gzip;q=0.5", "zstd", "HIT", 2},
		{"", "", "MISS", 3},
		{"", "", "HIT", 3},
		{"gzip", "gzip", "HIT", 3},
	}
	for i, s := range steps {
		r := httptest.NewRequest("GET", "/products", nil)
		if s.accept != "" {
			r.Header.Set("Accept-Encoding", s.accept)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Content-Encoding"); got != s.wantEnc {
			t.Fatalf("step %d (%q): Content-Encoding %q, want %q", i, s.accept, got, s.wantEnc)
		}
		if got := w.Header().Get("X-Cache"); got != s.wantCache {
			t.Fatalf("step %d (%q): X-Cache %q, want %q", i, s.accept, got, s.wantCache)
		}
		if runs.Load() != s.wantRuns {
			t.Fatalf("step %d (%q): handler ran %d times, want %d", i, s.accept, runs.Load(), s.wantRuns)
		}
		if got := decodeBody(t, w); got != catalogJSON {
			t.Fatalf("step %d: body decodes to %d bytes, want the %d of the original", i, len(got), len(catalogJSON))
		}
		if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
			t.Fatalf("step %d: Vary = %q, want Accept-Encoding", i, w.Header().Get("Vary"))
		}
	}
}

// TestCompressAroundCached is the other order: the cache stores the
// uncompressed response once and compress encodes every response, hits
// included. It works; it only costs a compression per hit.
func TestCompressAroundCached(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var runs atomic.Int64
	h := compress.Middleware(compress.Options{})(c.Cached(time.Minute)(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, catalogJSON)
		})))
	for _, accept := range []string{"gzip", "zstd", "", "gzip"} {
		r := httptest.NewRequest("GET", "/products", nil)
		r.Header.Set("Accept-Encoding", accept)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if got := w.Header().Get("Content-Encoding"); got != accept {
			t.Fatalf("Accept-Encoding %q: Content-Encoding %q", accept, got)
		}
		if got := decodeBody(t, w); got != catalogJSON {
			t.Fatalf("Accept-Encoding %q: body decodes to %d bytes, want %d", accept, len(got), len(catalogJSON))
		}
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times, want once", runs.Load())
	}
}

// TestCachedConditionalMissStoresFullResponse: with compress inside Cached
// (answering conditional requests by default), a miss whose client sent a
// matching If-None-Match got a 304 from compress, which was not stored, so
// every revalidating client ran the handler. The handler of a miss no
// longer sees the validators: it makes the full response, which is stored,
// and the hits answer the validators (the miss sends its client the 200:
// the view answers a miss's validators only for a response it refuses).
func TestCachedConditionalMissStoresFullResponse(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	var runs atomic.Int64
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(compress.Middleware(compress.Options{})(
		http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			runs.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("ETag", `"catalog-v1"`)
			_, _ = io.WriteString(w, catalogJSON)
		})))
	revalidate := func() *httptest.ResponseRecorder {
		return get(h, "/catalog", "Accept-Encoding", "gzip", "If-None-Match", `W/"catalog-v1"`)
	}
	w := revalidate()
	if w.Code != http.StatusOK || w.Header().Get("X-Cache") != "MISS" || decodeBody(t, w) != catalogJSON {
		t.Fatalf("miss: %d %s, the full response is sent", w.Code, w.Header().Get("X-Cache"))
	}
	w = get(h, "/catalog", "Accept-Encoding", "gzip")
	if w.Code != http.StatusOK || w.Header().Get("X-Cache") != "HIT" || decodeBody(t, w) != catalogJSON {
		t.Fatalf("then a hit sends the full response stored; got %d %s", w.Code, w.Header().Get("X-Cache"))
	}
	w = revalidate()
	if w.Code != http.StatusNotModified || w.Header().Get("X-Cache") != "HIT" {
		t.Fatalf("then a hit answers 304; got %d %s", w.Code, w.Header().Get("X-Cache"))
	}
	if runs.Load() != 1 {
		t.Fatalf("the handler ran %d times; want 1", runs.Load())
	}
}
