package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-caching/caching/compress"
)

// TestCompressWriteHeaderZeroIsNotCached: Cached(compress(h)) with a
// handler that forwards an unset status on its error path. net/http (and
// Cached without compress in between: the same test without the middleware
// passes) fails the request; compress used to turn the status 0 into 200,
// so the error page was stored and every later client got it as a HIT.
func TestCompressWriteHeaderZeroIsNotCached(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(compress.Middleware(compress.Options{})(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var status int // an error path that never set it
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "upstream failed")
		})))
	try := func() (w *httptest.ResponseRecorder) {
		defer func() { _ = recover() }()
		return get(h, "/report")
	}
	try()
	if w := try(); w != nil && w.Header().Get("X-Cache") == "HIT" {
		t.Errorf("the response of WriteHeader(0) was stored and served as a HIT: %d %q", w.Code, w.Body.String())
	}
}
