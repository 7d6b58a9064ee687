package caching_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestOpaqueTargetsNotCached: a request target in absolute form without
// "//" ("GET http:foo HTTP/1.1", which net/http's parser accepts) has an
// empty Path and the rest in URL.Opaque, which the key left out: every such
// target keyed as the empty path, and the response to http:foo answered
// http:bar. Such requests now pass through (BYPASS), in SharedCache too.
func TestOpaqueTargetsNotCached(t *testing.T) {
	for name, opts := range map[string][]caching.ViewOption{"default": nil, "shared": {caching.SharedCache()}} {
		t.Run(name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			h := c.Cached(time.Minute, append(opts, caching.CacheStatusHeader("X-Cache"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, "target "+r.URL.String())
			}))
			get := func(target string) *httptest.ResponseRecorder {
				r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")))
				if err != nil {
					t.Fatal(err)
				}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			get("http:foo")
			for _, target := range []string{"http:bar", "http:foo"} {
				w := get(target)
				if got, want := w.Body.String(), "target "+target; got != want {
					t.Errorf("GET %s: %q (X-Cache %q), want %q", target, got, w.Header().Get("X-Cache"), want)
				}
				if got := w.Header().Get("X-Cache"); got != "BYPASS" {
					t.Errorf("GET %s: X-Cache %q, want BYPASS", target, got)
				}
			}
			// An absolute target with "//" is cached as before.
			get("http://shop.example/p")
			if got := get("http://shop.example/p").Header().Get("X-Cache"); got != "HIT" {
				t.Errorf("GET http://shop.example/p again: X-Cache %q, want HIT", got)
			}
		})
	}
}
