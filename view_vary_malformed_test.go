package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestMalformedVaryIsNotStored: a Vary whose element is not a field name
// (a comma left out, a stray semicolon, quotes) names nothing a request
// carries; keyed by it, every request would share the variant made for
// the first one. Such a response is not stored, in either mode.
func TestMalformedVaryIsNotStored(t *testing.T) {
	for _, vary := range []string{"Accept-Language Cookie", "Cookie;", `"Cookie"`} {
		for _, shared := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/shared=%v", vary, shared), func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var opts []ViewOption
				if shared {
					opts = append(opts, SharedCache())
				}
				h := c.Cached(time.Minute, opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
					w.Header().Set("Vary", vary)
					fmt.Fprintf(w, "hello %s", r.Header.Get("Cookie"))
				}))
				get(h, "/", "Cookie", "session=alice")
				if got := get(h, "/", "Cookie", "session=bob").Body.String(); got != "hello session=bob" {
					t.Errorf("bob got %q", got)
				}
			})
		}
	}
}
