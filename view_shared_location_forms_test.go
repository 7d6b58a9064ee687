package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSameOriginLocationForms: URI references of the write's own origin
// that RFC 3986 resolves to a path of it are invalidated: a scheme-relative
// reference to the same host (section 4.2), and an absolute one with dot
// segments, which resolution removes (section 5.2: the client's next GET
// is for the resolved path, /items/9). Other hosts and ports stay out.
func TestSameOriginLocationForms(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://shop.example/items/1", nil)
	for _, c := range []struct{ ref, path string }{
		{"//shop.example/items/9", "/items/9"},
		{"//SHOP.example:80/items/9", "/items/9"},
		{"http://shop.example/items/x/../9", "/items/9"},
		{"//shop.example/items/./x/../9", "/items/9"},
		{"https://shop.example/../items/9", "/items/9"},
		{"//other.example/items/9", ""},
		{"//shop.example:8080/items/9", ""},
		{"//shop.example", ""},
	} {
		p, ok := sameOriginPath(r, r.URL, c.ref)
		assert.Equal(t, c.path != "", ok, "%s from %s", c.ref, r.URL)
		assert.Equal(t, c.path, p, "%s from %s", c.ref, r.URL)
	}
}

// TestInvalidateOnWriteLocationForms: a write whose Location names the
// created item by a scheme-relative reference, or by an absolute one with
// dot segments, makes the cached read of that item a miss.
func TestInvalidateOnWriteLocationForms(t *testing.T) {
	for _, loc := range []string{"//%s/items/9", "http://%s/items/x/../9"} {
		t.Run(loc, func(t *testing.T) {
			e := newViewEnv(t, viewStores[0])
			reads := &counter{body: "r", fn: func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
			}}
			mux := http.NewServeMux()
			view := e.c.Cached(time.Hour, SharedCache())
			mux.Handle("GET /items/{id}", view(reads))
			mux.Handle("POST /items", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", fmt.Sprintf(loc, r.Host))
				w.WriteHeader(http.StatusCreated)
			})))
			get(mux, "/items/9")
			get(mux, "/items/9")
			require.EqualValues(t, 1, reads.calls.Load(), "the second read is a hit")
			send(mux, http.MethodPost, "/items")
			get(mux, "/items/9")
			assert.EqualValues(t, 2, reads.calls.Load(), "the write's Location %q is invalidated", fmt.Sprintf(loc, "example.com"))
		})
	}
}
