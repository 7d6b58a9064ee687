package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedOuterContentTypeKeptOnHits: an API's outer middleware sets a
// default Content-Type before the handler runs (chi's
// middleware.SetHeader("Content-Type", "application/json"), a JSON API
// base handler); the handler writes its JSON without setting one. The
// client of the miss gets application/json (net/http sniffs nothing when a
// type is set). The entry leaves the outer field out (it is the outer
// middleware's), and stored the type net/http would sniff from the body in
// its place: every hit overwrote the outer middleware's application/json
// with "text/plain; charset=utf-8". It now stores none, and the outer
// middleware's type stands on hits, HEAD's included.
func TestCachedOuterContentTypeKeptOnHits(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"id":1,"name":"widget"}`)
	}))
	outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		h.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(outer)
	defer srv.Close()
	get := func() *http.Response {
		resp, err := http.Get(srv.URL + "/items/1")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	miss := get()
	require.Equal(t, "MISS", miss.Header.Get("X-Cache"))
	require.Equal(t, "application/json", miss.Header.Get("Content-Type"), "the miss")
	for i := range 2 {
		hit := get()
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"))
		assert.Equal(t, []string{"application/json"}, hit.Header["Content-Type"], "hit %d: what the miss sent", i)
	}
	// HEAD too, from the entry.
	req, _ := http.NewRequest(http.MethodHead, srv.URL+"/items/1", nil)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, []string{"application/json"}, resp.Header["Content-Type"], "HEAD hit")
}

// TestCachedOuterPlainTypeKeptOnHits: the same with a safety type. A
// raw-content route's outer middleware serves user content as text/plain
// so that a browser never renders it as HTML; the handler copies the
// user's text. The miss is text/plain; every hit was sniffed
// "text/html; charset=utf-8" (stored XSS through the cache), in both
// modes.
func TestCachedOuterPlainTypeKeptOnHits(t *testing.T) {
	for _, shared := range []bool{false, true} {
		c := Must(nil)
		opts := []ViewOption{CacheStatusHeader("X-Cache")}
		if shared {
			opts = append(opts, SharedCache())
		}
		h := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = io.WriteString(w, "<html><script>alert(document.cookie)</script>")
		}))
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			h.ServeHTTP(w, r)
		})
		srv := httptest.NewServer(outer)
		get := func() *http.Response {
			resp, err := http.Get(srv.URL + "/raw/42")
			require.NoError(t, err)
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		miss := get()
		require.Equal(t, "MISS", miss.Header.Get("X-Cache"), "shared=%v", shared)
		require.Equal(t, "text/plain; charset=utf-8", miss.Header.Get("Content-Type"), "shared=%v: the miss", shared)
		hit := get()
		require.Equal(t, "HIT", hit.Header.Get("X-Cache"), "shared=%v", shared)
		assert.Equal(t, []string{"text/plain; charset=utf-8"}, hit.Header["Content-Type"], "shared=%v: the hit", shared)
		srv.Close()
		c.Close()
	}
}
