package httpcache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestServeRangeUnknownUnit: a Range in a unit other than bytes must be
// ignored (RFC 9110 section 14.2): a hit is the whole stored 200, as the
// handler, which knows no such unit, would have answered, never a 416. A
// "Bytes" unit (units are case-insensitive), which http.ServeContent cannot
// parse, is ignored too: a server may always ignore Range.
func TestServeRangeUnknownUnit(t *testing.T) {
	s := NewSharedSnapshot(200, hdr("Etag", `"v1"`, "Content-Type", "text/plain"), []byte("0123456789"), t0)
	for _, rng := range []string{"items=0-5", "pages=1", "lines=2-4", "Bytes=0-1"} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Range", rng)
		w := httptest.NewRecorder()
		if !s.ServeRange(w, r, t0.Add(time.Second), "X-Cache", Hit) {
			s.Serve(w, r, t0.Add(time.Second), "X-Cache", Hit)
		}
		assert.Equal(t, http.StatusOK, w.Code, rng)
		assert.Equal(t, "0123456789", w.Body.String(), rng)
		assert.Empty(t, w.Header().Get("Content-Range"), rng)
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"), rng)
	}
}
