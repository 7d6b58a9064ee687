package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedHeadSlowOuterWriterStillFreshens: a SharedCache HEAD whose
// 200 validates the stored GET makes a zero-length write below before it
// judges what the writers outside the view added (0aa7e2b). Unlike the
// first writes of a miss and of a 304's revalidation, that write is not
// bounded by httpcache.FirstWriteWait: a HEAD has no waiters to release,
// and the view may not return while a write below runs, so its client
// waits for the write either way; given up on, it would only have kept the
// HEAD from freshening the entry. Behind an outer writer slower than the
// wait, the HEAD still freshens it.
func TestSharedHeadSlowOuterWriterStillFreshens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		v := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			runs.Add(1)
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, "page")
			}
		}))
		require.Equal(t, "page", get(v, "/p").Body.String())
		time.Sleep(15 * time.Second) // stale

		hw := httptest.NewRecorder()
		v.ServeHTTP(slowOuterWriter{hw, 2 * time.Second}, httptest.NewRequest(http.MethodHead, "/p", nil))
		require.Equal(t, http.StatusOK, hw.Code)
		require.Equal(t, `"x"`, hw.Header().Get("ETag"))

		w := get(v, "/p")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the HEAD behind a slow outer writer did not freshen the stored GET")
		assert.Equal(t, "page", w.Body.String())
		assert.EqualValues(t, 2, runs.Load())
	})
}
