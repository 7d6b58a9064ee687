package compress_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/compress"
)

// TestVaryIsNotSharedBetweenResponses: every response the middleware gave
// "Vary: Accept-Encoding" shared one package-level slice. A middleware
// outside it that rewrote h["Vary"][0] in place (or appended into spare
// capacity), as it may with its own response's header, rewrote the Vary of
// every later response in the process. Each response now has its own.
func TestVaryIsNotSharedBetweenResponses(t *testing.T) {
	js := []byte("function hello() { return 'world'; }\n")
	c := compress.Must(compress.Options{})
	files := c.FileServer(fstest.MapFS{"app.js": {Data: js}, "app.js.gz": {Data: encodeAll(t, compress.Gzip, js)}})
	for _, tc := range []struct {
		name string
		h    http.Handler
		req  *http.Request
	}{
		{"compressed", c.Handler(writeJSON(big)), get("gzip")},
		{"sent unencoded to a client without Accept-Encoding", c.Handler(writeJSON(big)), get()},
		{"304", c.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotModified)
		})), get("gzip")},
		{"pre-compressed file", files, httptest.NewRequest(http.MethodGet, "/app.js", nil)},
	} {
		for _, mutate := range []struct {
			name string
			f    func(h http.Header)
		}{
			{"append", func(h http.Header) { _ = append(h["Vary"], "Cookie") }},
			{"in place", func(h http.Header) { h["Vary"][0] = "Cookie" }},
		} {
			t.Run(tc.name+"/"+mutate.name, func(t *testing.T) {
				// An outer middleware edits its response's Vary after
				// the handler ran.
				outer := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					tc.h.ServeHTTP(w, r)
					mutate.f(w.Header())
				})
				for i := range 3 {
					rec := httptest.NewRecorder()
					outer.ServeHTTP(rec, tc.req)
					assert.Equal(t, []string{"Accept-Encoding"}, rec.Result().Header["Vary"], "response %d", i)
				}
			})
		}
	}
}
