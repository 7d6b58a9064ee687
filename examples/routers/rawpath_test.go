package routers_test

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/go-caching/caching"
)

// serveRaw parses the request line "GET target" as a net/http server does
// (http.ReadRequest is the server's parser: it keeps r.URL.RawPath as the
// client spelled it) and serves it.
func serveRaw(t *testing.T, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("GET " + target + " HTTP/1.1\r\nHost: shop.example\r\n\r\n")))
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestChiRawPathRoutesKeptApart: chi routes by r.URL.RawPath when it is
// set, and net/http keeps a RawPath that is not a valid encoding of the
// path ("/files/x|y%2Fz": a '|' left raw), whose EscapedPath is the
// escaping of Path ("/files/x%7Cy/z"). chi sends the first to
// /files/{name} (one segment "x|y%2Fz") and the second to
// /files/{dir}/{name}: one request for the first must not store its
// route's response for the second.
func TestChiRawPathRoutesKeptApart(t *testing.T) {
	c := caching.Must(nil)
	defer c.Close()
	r := chi.NewRouter()
	r.Use(c.Cached(time.Minute, caching.CacheStatusHeader("X-Cache")))
	r.Get("/files/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "route A: file "+chi.URLParam(r, "name"))
	})
	r.Get("/files/{dir}/{name}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "route B: dir "+chi.URLParam(r, "dir")+" file "+chi.URLParam(r, "name"))
	})

	if got := serveRaw(t, r, "/files/x|y%2Fz").Body.String(); !strings.HasPrefix(got, "route A") {
		t.Fatalf("GET /files/x|y%%2Fz reached %q, want route A", got)
	}
	for _, target := range []string{"/files/x%7Cy/z", "/files/x|y/z"} {
		w := serveRaw(t, r, target)
		if got := w.Body.String(); !strings.HasPrefix(got, "route B") {
			t.Errorf("GET %s: %q (X-Cache %q): route A's response, stored by GET /files/x|y%%2Fz", target, got, w.Header().Get("X-Cache"))
		}
	}
	// Each spelling still hits its own entry.
	for _, target := range []string{"/files/x|y%2Fz", "/files/x%7Cy/z"} {
		if got := serveRaw(t, r, target).Header().Get("X-Cache"); got != "HIT" {
			t.Errorf("GET %s again: X-Cache %q, want HIT", target, got)
		}
	}
}
