package caching_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching"
)

// TestMountedViewsAdapterRequests: views mounted with http.StripPrefix keep
// their entries apart by the client's path in r.RequestURI, which a request
// no net/http server parsed (a serverless adapter's, made with
// http.NewRequest) lacks: both mounts then key GET /v1/users and GET
// /v2/users as "/users". Cached's doc gives the two remedies tested here:
// the adapter sets RequestURI before routing, or each mount has a Version
// (or KeyFormat) of its own.
func TestMountedViewsAdapterRequests(t *testing.T) {
	text := func(s string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, s) })
	}
	for name, tc := range map[string]struct {
		setURI bool
		v1, v2 []caching.ViewOption
	}{
		"adapter sets RequestURI": {setURI: true},
		"a Version per mount":     {v1: []caching.ViewOption{caching.Version("v1")}, v2: []caching.ViewOption{caching.Version("v2")}},
	} {
		t.Run(name, func(t *testing.T) {
			c := caching.Must(nil)
			defer c.Close()
			mux := http.NewServeMux()
			mux.Handle("/v1/", http.StripPrefix("/v1", c.Cached(time.Hour, append(tc.v1, caching.CacheStatusHeader("X-Cache"))...)(text("v1 users"))))
			mux.Handle("/v2/", http.StripPrefix("/v2", c.Cached(time.Hour, append(tc.v2, caching.CacheStatusHeader("X-Cache"))...)(text("v2 users"))))
			get := func(target string) *httptest.ResponseRecorder {
				r, err := http.NewRequest(http.MethodGet, "https://api.example"+target, nil) // as an adapter builds it
				if err != nil {
					t.Fatal(err)
				}
				if tc.setURI {
					r.RequestURI = r.URL.RequestURI()
				}
				w := httptest.NewRecorder()
				mux.ServeHTTP(w, r)
				return w
			}
			get("/v1/users")
			if w := get("/v2/users"); w.Body.String() != "v2 users" {
				t.Fatalf("GET /v2/users: %q (X-Cache %q), another mount's response", w.Body.String(), w.Header().Get("X-Cache"))
			}
			if w := get("/v1/users"); w.Body.String() != "v1 users" || w.Header().Get("X-Cache") != "HIT" {
				t.Fatalf("GET /v1/users again: %q (X-Cache %q), want v1's entry", w.Body.String(), w.Header().Get("X-Cache"))
			}
		})
	}
}
