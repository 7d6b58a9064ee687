package caching

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"

	"github.com/go-caching/caching/compress"
)

// acceptEncodingProbes are Accept-Encoding lines a client may send,
// hurried or hostile: q=0 refusals, duplicates, case, wildcards, malformed
// weights and parameters, quoted commas, several lines, an empty one.
var acceptEncodingProbes = [][]string{
	nil,
	{""},
	{"gzip"},
	{"GZIP"},
	{"gzip;q=0"},
	{"gzip;q=0.000"},
	{"gzip;q=0.001"},
	{"gzip;Q=0"},
	{"gzip ; q=0"},
	{"gzip;q=1.0000"},
	{"gzip;q=abc"},
	{"gzip;q=-1"},
	{"gzip;q=0, gzip"},
	{"gzip, gzip;q=0"},
	{"gzip;q=0", "gzip"},
	{"gzip", "gzip;q=0"},
	{"*"},
	{"*;q=0"},
	{"*;q=0, identity"},
	{"*, gzip;q=0"},
	{"*, zstd;q=0, gzip;q=0"},
	{"identity;q=0"},
	{"identity;q=0, *;q=0"},
	{"x-gzip"},
	{"zstd"},
	{"zstd;q=0.5, gzip;q=0.5"},
	{"zstd;q=0.5, gzip"},
	{"br, deflate"},
	{"gzip;x=\"a,zstd\";q=0"},
	{"gzip;x=\"a;q=1\""},
	{",,,"},
	{"gzip, zstd, br, deflate, identity, *"},
	{strings.Repeat("gzip;q=0, ", 2000) + "zstd"},
}

// TestCachedCompressResponseIsTheHandlers: whatever clients send, and in
// whatever order they come, a response served through Cached and compress
// (either wrapping the other) has the Content-Encoding and body that
// compress alone gives the same request (also with the lines rewritten by
// CanonicalAcceptEncoding in front of the cache), and the handler's own
// Vary is kept: a variant stored for one client is never served to another that
// did not accept its coding.
func TestCachedCompressResponseIsTheHandlers(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Vary", "X-Lang")
		body := r.Header.Get("X-Lang") + catalogJSON
		if r.URL.Path == "/stream" { // streamed: StreamingAlgorithms choose
			_, _ = io.WriteString(w, body[:100])
			http.NewResponseController(w).Flush()
			body = body[100:]
		}
		_, _ = io.WriteString(w, body)
	})
	cz := compress.Must(compress.Options{})
	comp := cz.Handler
	type result struct{ enc, body string }
	serve := func(h http.Handler, path string, lines []string, lang string) (result, http.Header) {
		r := httptest.NewRequest("GET", path, nil)
		if lines != nil {
			r.Header["Accept-Encoding"] = lines
		}
		if lang != "" {
			r.Header.Set("X-Lang", lang)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("%q: status %d", lines, w.Code)
		}
		return result{w.Header().Get("Content-Encoding"), decodeAny(t, w)}, w.Header()
	}
	ref := comp(handler)
	orders := map[string]func(c *Cache) http.Handler{
		"CachedAroundCompress": func(c *Cache) http.Handler { return c.Cached(time.Minute, MaxVariants(128))(comp(handler)) },
		"CompressAroundCached": func(c *Cache) http.Handler { return comp(c.Cached(time.Minute, MaxVariants(128))(handler)) },
		// CanonicalAcceptEncoding's doc: the lines rewritten in front of
		// the cache, which keeps a handful of variants.
		"CanonicalCachedAroundCompress": func(c *Cache) http.Handler {
			next := c.Cached(time.Minute, MaxVariants(128))(comp(handler))
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if lines := cz.CanonicalAcceptEncoding(r); lines != nil {
					r.Header["Accept-Encoding"] = lines
				}
				next.ServeHTTP(w, r)
			})
		},
	}
	for name, build := range orders {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			for round := range 4 {
				c := Must(nil)
				h := build(c)
				n := len(acceptEncodingProbes)
				for _, i := range rng.Perm(n * 4) {
					lines := acceptEncodingProbes[i%n]
					lang := []string{"", "de"}[i/n%2]
					path := []string{"/products", "/stream"}[i/n/2]
					want, _ := serve(ref, path, lines, lang)
					for range 2 {
						got, hdr := serve(h, path, lines, lang)
						if got.enc != want.enc || got.body != want.body {
							t.Errorf("round %d, %s, Accept-Encoding %q, X-Lang %q: Content-Encoding %q (%d bytes), compress alone gives %q (%d bytes)",
								round, path, short(lines), lang, got.enc, len(got.body), want.enc, len(want.body))
						}
						if v := strings.Join(hdr.Values("Vary"), ","); !strings.Contains(v, "X-Lang") {
							t.Errorf("Accept-Encoding %q: Vary %q lost the handler's X-Lang", short(lines), v)
						}
					}
				}
				if c.Stats().Hits == 0 {
					t.Fatalf("round %d: no hit: the cache was not exercised", round)
				}
				_ = c.Close()
			}
		})
	}
}

// short abbreviates long probe lines in messages.
func short(lines []string) string {
	s := fmt.Sprintf("%q", lines)
	if len(s) > 80 {
		s = s[:80] + "..."
	}
	return s
}

// decodeAny is decodeBody for every coding compress makes.
func decodeAny(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var r io.Reader
	switch w.Header().Get("Content-Encoding") {
	case "br":
		r = brotli.NewReader(bytes.NewReader(w.Body.Bytes()))
	case "deflate":
		zr, err := zlib.NewReader(bytes.NewReader(w.Body.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	default:
		return decodeBody(t, w)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
