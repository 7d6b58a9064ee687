package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestCachedMuxHeadHitAllocs: telling a HEAD route of its own apart
// ("HEAD /file" beside "GET /file") costs a HEAD hit nothing: it allocates
// no more than a GET hit (a copy of the request and a second mux lookup
// did).
func TestCachedMuxHeadHitAllocs(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "item "+r.PathValue("id")) })
	h := c.CachedMux(mux, time.Minute)
	hit := func(method string) float64 {
		w := httptest.NewRecorder()
		r := httptest.NewRequest(method, "/items/7", nil)
		h.ServeHTTP(w, r)
		return testing.AllocsPerRun(200, func() {
			w.Body.Reset()
			clear(w.Header())
			h.ServeHTTP(w, r)
		})
	}
	get, head := hit(http.MethodGet), hit(http.MethodHead)
	if head > get {
		t.Errorf("a HEAD hit allocates %.1f, a GET hit %.1f", head, get)
	}
}

func TestHeadRoute(t *testing.T) {
	for pattern, want := range map[string]bool{
		"HEAD /file":         true,
		"HEAD\t/file":        true,
		"HEAD  example.com/": true,
		"GET /file":          false,
		"/file":              false,
		"example.com/file":   false,
		"HEADER /x":          false,
		"":                   false,
	} {
		if got := headRoute(pattern); got != want {
			t.Errorf("headRoute(%q) = %v, want %v", pattern, got, want)
		}
	}
}
