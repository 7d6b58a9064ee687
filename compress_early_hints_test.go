package caching

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"testing"
	"time"

	"github.com/go-caching/caching/compress"
)

// TestEarlyHintsThroughCachedCompress: a handler's 103 Early Hints goes
// out through Cached and compress (either order) at once, without the
// coding of the final response, and the final 200 is whole and stored: a
// second request is a hit of the same body.
func TestEarlyHintsThroughCachedCompress(t *testing.T) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</app.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, catalogJSON)
	})
	comp := compress.Middleware(compress.Options{})
	for name, build := range map[string]func(c *Cache) http.Handler{
		"CachedAroundCompress": func(c *Cache) http.Handler { return c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(comp(handler)) },
		"CompressAroundCached": func(c *Cache) http.Handler { return comp(c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(handler)) },
	} {
		t.Run(name, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			srv := httptest.NewServer(build(c))
			defer srv.Close()
			tr := &http.Transport{DisableCompression: true}
			defer tr.CloseIdleConnections()
			for i, wantCache := range []string{"MISS", "HIT"} {
				var hints []textproto.MIMEHeader
				trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
					if code == http.StatusEarlyHints {
						hints = append(hints, h)
					}
					return nil
				}}
				req, _ := http.NewRequest("GET", srv.URL+"/p", nil)
				req = req.WithContext(httptrace.WithClientTrace(req.Context(), trace))
				req.Header.Set("Accept-Encoding", "gzip")
				res, err := tr.RoundTrip(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK || res.Header.Get("X-Cache") != wantCache {
					t.Fatalf("request %d: %d X-Cache %q, want 200 %s", i, res.StatusCode, res.Header.Get("X-Cache"), wantCache)
				}
				if res.Header.Get("Content-Encoding") != "gzip" {
					t.Fatalf("request %d: Content-Encoding %q", i, res.Header.Get("Content-Encoding"))
				}
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if plain, err := io.ReadAll(zr); err != nil || string(plain) != catalogJSON {
					t.Fatalf("request %d: body decodes to %d bytes (%v), want %d", i, len(plain), err, len(catalogJSON))
				}
				if wantCache == "MISS" {
					if len(hints) != 1 || hints[0].Get("Link") == "" || hints[0].Get("Content-Encoding") != "" {
						t.Fatalf("request %d: 103s %v, want one with Link and no Content-Encoding", i, hints)
					}
				}
			}
		})
	}
}
