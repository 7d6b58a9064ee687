package caching_test

import (
	"io"
	"net/http"
	"testing"

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
			get := rawTargetGet(t, c, opts, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, "target "+r.URL.String())
			})
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
