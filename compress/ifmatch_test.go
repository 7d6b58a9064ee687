package compress_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/compress"
)

// TestIfMatchAfterCompressedGet: optimistic concurrency (RFC 9110 13.1.1,
// If-Match compares strongly). The client GETs a JSON document, then PUTs
// with If-Match set to the ETag it was given. compress had weakened (or
// suffixed) that ETag and rewrote only If-None-Match, so every update from a
// client whose GET was compressed was refused with 412.
func TestIfMatchAfterCompressedGet(t *testing.T) {
	doc := `{"items":[` + strings.Repeat(`{"name":"lamp","price":19.99},`, 50) + `{}]}`
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		const etag = `"v7"`
		switch r.Method {
		case http.MethodGet:
			w.Header().Set("ETag", etag)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, doc)
		case http.MethodPut:
			if im := r.Header.Get("If-Match"); im != etag { // strong comparison
				http.Error(w, "stale: "+im, http.StatusPreconditionFailed)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	})
	for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
		for _, putAE := range []string{"gzip", ""} { // the PUT's Accept-Encoding need not be the GET's
			srv := httptest.NewServer(compress.Must(compress.Options{ETag: mode}).Handler(api))
			req, _ := http.NewRequest("GET", srv.URL, nil)
			req.Header.Set("Accept-Encoding", "gzip")
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			etag := resp.Header.Get("ETag")
			if etag == `"v7"` {
				t.Fatalf("mode %v: GET's ETag was not changed (%s): the test tests nothing", mode, etag)
			}
			put, _ := http.NewRequest("PUT", srv.URL, strings.NewReader(`{}`))
			put.Header.Set("If-Match", etag)
			put.Header.Set("Accept-Encoding", putAE)
			resp, err = srv.Client().Do(put)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("mode %v, PUT Accept-Encoding %q: GET gave ETag %s; PUT If-Match: %s -> %d, want 204", mode, putAE, etag, etag, resp.StatusCode)
			}
			srv.Close()
		}
	}
}

// TestIfMatchHandlerWeakTagStillFails is the limit of ETagWeaken's rewrite:
// W/"x" from a handler that made its tag weak itself cannot be told apart
// from one the middleware weakened, so it reaches the handler as "x"; a
// handler comparing against its own W/"x" refuses it, as RFC 9110 requires
// (a weak tag never matches If-Match): nothing is let through that was not.
func TestIfMatchHandlerWeakTagStillFails(t *testing.T) {
	h := compress.Must(compress.Options{}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-Match") != `W/"v7"` { // its own weak tag, compared as a string
			http.Error(w, "stale", http.StatusPreconditionFailed)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	r := httptest.NewRequest("PUT", "/", strings.NewReader("{}"))
	r.Header.Set("If-Match", `W/"v7"`)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusPreconditionFailed {
		t.Fatalf("If-Match: W/\"v7\" against the handler's own W/\"v7\": %d, want 412", w.Code)
	}
}

// TestIfRangeCompressedTagGetsWholeBody: a client resuming a compressed
// download sends Range with If-Range set to the ETag of the encoded variant.
// That tag must not be mapped back to the handler's: a 206 would carry
// unencoded bytes to append to encoded ones. The whole (encoded) body is
// sent again instead.
func TestIfRangeCompressedTagGetsWholeBody(t *testing.T) {
	content := strings.Repeat("some text to resume ", 500)
	mod := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, mode := range []compress.ETagMode{compress.ETagWeaken, compress.ETagSuffix} {
		h := compress.Must(compress.Options{ETag: mode}).Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `"v1"`)
			w.Header().Set("Content-Type", "text/plain")
			http.ServeContent(w, r, "", mod, strings.NewReader(content))
		}))
		r := httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		etag := w.Header().Get("ETag")
		if w.Header().Get("Content-Encoding") != "gzip" {
			t.Fatalf("mode %v: first GET not compressed", mode)
		}
		r = httptest.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		r.Header.Set("Range", "bytes=100-")
		r.Header.Set("If-Range", etag)
		w = httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusOK || w.Header().Get("Content-Encoding") != "gzip" || bytes.Contains(w.Body.Bytes(), []byte("resume")) {
			t.Errorf("mode %v: resume with If-Range %s: %d, Content-Encoding %q; want the whole gzip body again", mode, etag, w.Code, w.Header().Get("Content-Encoding"))
		}
	}
}
