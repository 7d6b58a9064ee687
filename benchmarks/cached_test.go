package benchmarks

import (
	"net/http"
	"slices"
	"testing"

	"github.com/go-caching/caching"
)

// Our response cache joins the comparison of http_test.go, second after the
// bare handler: Cached on the default in-process store (backend/simple),
// keyed by path and canonical query string, with the default options (Age
// and ETag on every hit).
func init() {
	httpImpls = slices.Insert(httpImpls, 1, httpImpl{"caching", true, func(b *testing.B, h http.HandlerFunc) http.Handler {
		c := caching.Must(nil)
		b.Cleanup(func() { _ = c.Close() })
		return c.Cached(pageTTL)(h)
	}})
}
