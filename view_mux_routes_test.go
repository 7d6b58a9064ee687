package caching_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestCachedMuxHeadRouteNotAnsweredFromGet: a ServeMux may route HEAD to a
// handler of its own ("HEAD /file" beside "GET /file"). CachedMux finds the
// route before reading the cache, yet answered the HEAD from the GET
// route's entry: a response the HEAD route's handler never made. A HEAD of
// a route that serves GET and HEAD alike is still answered from the entry.
func TestCachedMuxHeadRouteNotAnsweredFromGet(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /file", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Route", "get")
		_, _ = io.WriteString(w, "full body")
	})
	headRuns := 0
	mux.HandleFunc("HEAD /file", func(w http.ResponseWriter, _ *http.Request) {
		headRuns++
		w.Header().Set("X-Route", "head")
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /page", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Route", "page")
		_, _ = io.WriteString(w, "page")
	})
	h := c.CachedMux(mux, time.Minute, caching.CacheStatusHeader("X-Cache"))
	serve := func(method, target string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(method, target, nil))
		return w
	}

	serve(http.MethodGet, "/file") // stores the GET
	w := serve(http.MethodHead, "/file")
	if got := w.Header().Get("X-Route"); got != "head" || headRuns != 1 || w.Code != http.StatusNoContent {
		t.Fatalf("HEAD through CachedMux: X-Route %q, status %d, HEAD handler ran %d times (X-Cache %q); want the HEAD route's own response",
			got, w.Code, headRuns, w.Header().Get("X-Cache"))
	}
	if got := w.Header().Get("X-Cache"); got != "BYPASS" {
		t.Errorf("HEAD route: X-Cache %q, want BYPASS", got)
	}

	serve(http.MethodGet, "/page")
	w = serve(http.MethodHead, "/page")
	if w.Header().Get("X-Cache") != "HIT" || w.Header().Get("X-Route") != "page" {
		t.Fatalf("HEAD of a GET route: X-Cache %q, X-Route %q; want the GET entry", w.Header().Get("X-Cache"), w.Header().Get("X-Route"))
	}
}

// TestCachedMuxIgnoreHostKeepsHostRoutesApart: with IgnoreHost, the routes
// "a.example/page" and "b.example/page" (two handlers the mux chooses by
// host) shared one entry: b.example was served a.example's page. IgnoreHost
// is meant for one site served under several names; a host in the route's
// pattern says the names are different sites, and such a request passes
// through. Routes without a host still share their entries across names.
func TestCachedMuxIgnoreHostKeepsHostRoutesApart(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("a.example/page", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "site A") })
	mux.HandleFunc("GET b.example/page", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "site B") })
	mux.HandleFunc("GET /shared", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "shared, first from "+r.Host) })
	h := c.CachedMux(mux, time.Minute, caching.IgnoreHost(), caching.CacheStatusHeader("X-Cache"))
	get := func(host, path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://"+host+path, nil))
		return w
	}
	get("a.example", "/page")
	if w := get("b.example", "/page"); w.Body.String() != "site B" {
		t.Fatalf("b.example/page: %q (X-Cache %q): the other host route's entry", w.Body.String(), w.Header().Get("X-Cache"))
	}
	if w := get("a.example", "/page"); w.Body.String() != "site A" || w.Header().Get("X-Cache") != "BYPASS" {
		t.Fatalf("a.example/page: %q (X-Cache %q), want site A, BYPASS", w.Body.String(), w.Header().Get("X-Cache"))
	}
	get("a.example", "/shared")
	if w := get("b.example", "/shared"); w.Header().Get("X-Cache") != "HIT" || w.Body.String() != "shared, first from a.example" {
		t.Fatalf("host-less route under IgnoreHost: %q (X-Cache %q), want the shared entry", w.Body.String(), w.Header().Get("X-Cache"))
	}
}
