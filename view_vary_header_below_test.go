package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestViewVaryFieldSetBelowTheView: a middleware below the view sets a
// request field from who the client is (its address here, a session in
// practice) and the handler answers Vary on that field. The variant is
// keyed from the request the handler saw, so each tier has its own entry:
// a request reaches the lookup without the field and never hits another
// tier's page. A miss that built its variant once, at the lookup (the
// field absent), and stored under it served the premium page to every
// client after it (a review found it; the change was reverted).
func TestViewVaryFieldSetBelowTheView(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			testViewVaryFieldSetBelowTheView(t, shared)
		})
	}
}

func testViewVaryFieldSetBelowTheView(t *testing.T, shared bool) {
	c := Must(nil)
	defer c.Close()
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "X-Tier")
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "tier=%s", r.Header.Get("X-Tier"))
	})
	tiering := func(next http.Handler) http.Handler { // below the view
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tier := "free"
			if r.RemoteAddr == "10.0.0.1:1234" {
				tier = "premium"
			}
			r.Header.Set("X-Tier", tier)
			next.ServeHTTP(w, r)
		})
	}
	var opts []ViewOption
	if shared {
		opts = append(opts, SharedCache())
	}
	h := c.Cached(time.Minute, opts...)(tiering(inner))
	do := func(addr string) string {
		req := httptest.NewRequest("GET", "http://shop.example/page", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Body.String()
	}
	require.Equal(t, "tier=free", do("10.0.0.9:1234"))    // the Vary record is stored
	require.Equal(t, "tier=premium", do("10.0.0.1:1234")) // the premium client's page
	require.Equal(t, "tier=free", do("10.0.0.2:1234"), "a free client was served the premium client's page")
	require.Equal(t, "tier=premium", do("10.0.0.1:1234"))
}
