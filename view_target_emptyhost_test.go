package caching_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestEmptyHostAbsoluteURLCached: a request a client-side
// constructor or an adapter builds as &http.Request{URL: absolute URL}
// leaves r.Host empty; the key then takes the authority from r.URL.Host
// (keys.go appendAuthority/originHost: "if host == \"\" { host = r.URL.Host }"),
// so nothing is left out of the key. A first UnkeyedTarget compared u.Host
// with r.Host literally and passed every such request through uncached.
func TestEmptyHostAbsoluteURLCached(t *testing.T) {
	for name, opts := range map[string][]caching.ViewOption{"default": nil, "shared": {caching.SharedCache()}} {
		t.Run(name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			runs := 0
			h := c.Cached(time.Minute, append(opts, caching.CacheStatusHeader("X-Cache"))...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				runs++
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = io.WriteString(w, "page")
			}))
			get := func() *httptest.ResponseRecorder {
				u, _ := url.Parse("http://shop.example/p")
				r := &http.Request{Method: http.MethodGet, URL: u, Header: http.Header{}, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, RequestURI: "/p"}
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			get()
			w := get()
			if runs != 1 {
				t.Errorf("handler ran %d times (X-Cache %q): a request with empty r.Host and URL.Host set, which the key holds, was not cached", runs, w.Header().Get("X-Cache"))
			}
		})
	}
}
