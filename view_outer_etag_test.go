package caching

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCachedOuterETagKeptOnHits: an outer middleware sets an ETag before
// the handler runs (the build's version, for pages that change only with
// a deploy) and the handler leaves it. The miss's client gets it. The entry
// leaves the outer field out, and computed an ETag from the body in its
// place, which every hit sent over the outer middleware's: the same page
// had two tags, and a client's If-None-Match matched on hits only the
// one it got from a hit. The entry now computes none where the response
// was sent with an ETag: hits send the outer middleware's, as the miss did.
func TestCachedOuterETagKeptOnHits(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		calls := 0
		view := e.c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, "<p>release notes</p>")
		}))
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("ETag", `W/"build-7"`)
			view.ServeHTTP(w, r)
		})
		want := []string{`W/"build-7"`}
		w := get(outer, "/notes")
		require.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.Equal(t, want, w.Result().Header["Etag"], "the miss")
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			w = send(outer, method, "/notes")
			require.Equal(t, "HIT", w.Header().Get("X-Cache"), method)
			assert.Equal(t, want, w.Result().Header["Etag"], "a %s hit: what the miss sent", method)
		}
		assert.Equal(t, 1, calls)
	})
}
