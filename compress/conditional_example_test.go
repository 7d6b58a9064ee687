package compress_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/go-caching/caching/compress"
)

// A handler that sets an ETag but never looks at If-None-Match: Conditional
// answers the browser's revalidation with 304 and no body. A Compressor does
// the same by default, with the weakened ETag it sends.
func ExampleConditional() {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("ETag", `"catalog-42"`)
		_, _ = io.WriteString(w, "<h1>Catalog</h1>"+strings.Repeat("<p>lamp</p>", 100))
	})
	for name, h := range map[string]http.Handler{
		"alone":      compress.Conditional(page),
		"compressed": compress.Middleware(compress.Options{})(page),
	} {
		first := httptest.NewRecorder()
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		h.ServeHTTP(first, r)

		again := httptest.NewRecorder()
		r.Header.Set("If-None-Match", first.Header().Get("ETag"))
		h.ServeHTTP(again, r)
		fmt.Printf("%s: %d %s, then %d with %d bytes\n", name, first.Code, first.Header().Get("ETag"), again.Code, again.Body.Len())
	}
	// Unordered output:
	// alone: 200 "catalog-42", then 304 with 0 bytes
	// compressed: 200 W/"catalog-42", then 304 with 0 bytes
}
