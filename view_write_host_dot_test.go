package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// TestHostScopedWriteReachesFullyQualifiedHost: under HostScopedWrites, a
// write to shop.example makes misses of the entries read through
// "shop.example." (the same host, fully qualified, RFC 3986 section
// 3.2.2), with or without a port, and the other way round.
func TestHostScopedWriteReachesFullyQualifiedHost(t *testing.T) {
	for _, c := range []struct{ read, write string }{
		{"shop.example.", "shop.example"},
		{"shop.example.:8080", "shop.example:8080"},
		{"shop.example", "SHOP.example."},
		{"shop.example.:443", "shop.example"},
	} {
		t.Run(c.read+" "+c.write, func(t *testing.T) {
			ca := Must(&Options{HostScopedWrites: true})
			defer ca.Close()
			var deleted atomic.Bool
			h := ca.Cached(time.Minute, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodDelete {
					deleted.Store(true)
					w.WriteHeader(http.StatusNoContent)
					return
				}
				if deleted.Load() {
					http.NotFound(w, r)
					return
				}
				io.WriteString(w, "the post")
			}))
			req := func(method, host string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(method, "http://"+host+"/posts/1", nil)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			req(http.MethodGet, c.read)
			req(http.MethodDelete, c.write)
			if w := req(http.MethodGet, c.read); w.Code != http.StatusNotFound {
				t.Errorf("%s: %d %q (X-Cache %s) after the DELETE to %s", c.read, w.Code, w.Body.String(), w.Header().Get("X-Cache"), c.write)
			}
		})
	}
}

// TestHostScopedWriteLeavesOtherHost: stripping the trailing dot does not
// join different hosts: a write to shop.example leaves an entry of
// shop.example.com.
func TestHostScopedWriteLeavesOtherHost(t *testing.T) {
	if hostPort("shop.example.") != hostPort("shop.example") || hostPort("shop.example.:80") != "shop.example" ||
		hostPort("[::1].:8080") == "" || hostPort("shop.example.com") == hostPort("shop.example") {
		t.Errorf("hostPort: %q %q %q", hostPort("shop.example."), hostPort("shop.example.:80"), hostPort("shop.example.com"))
	}
}
