package caching

import (
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheOuterTypeKeptAfterRevalidation: a SharedCache entry whose
// Content-Type an outer middleware set (text/plain, so that user content
// is never rendered as HTML) is revalidated: the handler's 304 carries no
// type, and freshening the entry stored the type sniffed from the body
// ("text/html; charset=utf-8"), which every hit after it, the revalidated
// response itself included, sent over the outer middleware's.
func TestSharedCacheOuterTypeKeptAfterRevalidation(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		calls := 0
		view := e.sharedView(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls++
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"raw-42"`)
			if r.Header.Get("If-None-Match") == `"raw-42"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			_, _ = io.WriteString(w, "<html><script>alert(document.cookie)</script>")
		}))
		outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			view.ServeHTTP(w, r)
		})
		typeOf := func(method string) []string {
			w := send(outer, method, "/raw/42")
			require.Equal(t, http.StatusOK, w.Code)
			return w.Result().Header["Content-Type"]
		}
		want := []string{"text/plain; charset=utf-8"}
		assert.Equal(t, want, typeOf(http.MethodGet), "the miss")
		e.clock.Advance(20 * time.Second)
		assert.Equal(t, want, typeOf(http.MethodGet), "the revalidated response")
		require.Equal(t, 2, calls, "revalidated once")
		assert.Equal(t, want, typeOf(http.MethodGet), "a hit after the revalidation")
		assert.Equal(t, want, typeOf(http.MethodHead), "a HEAD hit after the revalidation")
		assert.Equal(t, 2, calls, "hits")
	})
}
