package caching_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching"
)

// TestHitHeaderEditsStayWithTheirResponse: a hit's header values are the
// stored response's own (which is what makes a hit allocation-free), so a
// middleware outside the cache that edits a response's header with Add, Set
// or Del, as net/http's Header methods do, must change that response only:
// the next hit is the stored response, byte for byte.
func TestHitHeaderEditsStayWithTheirResponse(t *testing.T) {
	c := caching.Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	inner := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.Header()["Link"] = []string{"</a>; rel=preload", "</b>; rel=preload"}
		_, _ = w.Write([]byte("body"))
	}))
	edit := func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		h := rec.Header()
		h.Add("Content-Type", "charset=x") // appends to the stored slice's values
		h.Add("Link", "</c>; rel=preload")
		h.Add("Etag", `"other"`)
		h.Set("Age", "999")
		h.Del("Content-Length")
		for k, vs := range h {
			w.Header()[k] = vs
		}
	}
	hit := func() http.Header { // the header as the hit wrote it
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
		return rec.Header()
	}
	hit() // the miss that stores it
	first := hit().Clone()
	for k, vs := range hit() {
		// What makes Add safe: an append to a full slice copies it.
		assert.Equal(t, len(vs), cap(vs), "%s: an Add would write into the stored value's spare capacity", k)
	}
	var wg sync.WaitGroup
	for range 4 { // at once: under -race, shared spare capacity is a race
		wg.Go(func() { edit(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/", nil)) })
	}
	wg.Wait()
	got := hit()
	assert.Equal(t, first, got, "a hit after edits of earlier hits' headers")
	assert.Equal(t, []string{"text/plain"}, got["Content-Type"])
	assert.Equal(t, []string{"</a>; rel=preload", "</b>; rel=preload"}, got["Link"])
	assert.Equal(t, []string{"4"}, got["Content-Length"])
}
