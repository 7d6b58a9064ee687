package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching/timing"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMuxPatternReachesOuterMiddleware: with a ServeMux below the view, a
// request that carried validators was served to the mux as a copy (the
// validators taken off), and the pattern the mux matched was recorded on
// the copy: timing's Report.Route was "" for every browser revalidation
// that missed. The client's request gets the pattern, in both modes.
func TestMuxPatternReachesOuterMiddleware(t *testing.T) {
	for _, mode := range []struct {
		name string
		opts []ViewOption
	}{{"default", nil}, {"shared", []ViewOption{SharedCache()}}} {
		t.Run(mode.name, func(t *testing.T) {
			c := Must(nil)
			t.Cleanup(func() { _ = c.Close() })
			mux := http.NewServeMux()
			mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("ETag", `"v1"`)
				_, _ = w.Write([]byte("item"))
			})
			var route string
			h := timing.Must(timing.Options{Observe: func(r timing.Report) { route = r.Route }})(
				c.Cached(time.Minute, mode.opts...)(mux))
			r := httptest.NewRequest("GET", "/items/7", nil)
			r.Header.Set("If-None-Match", `"old"`)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "GET /items/{id}", route)
		})
	}
}
