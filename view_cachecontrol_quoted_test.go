package caching

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestQuotedCacheControlNotStored: a Cache-Control value quoted whole (a
// config file's or an env variable's quotes kept: `"private, max-age=0"`)
// is one unknown token to the grammar, and 1108cc7's words were `"private`
// and `max-age=0"`: neither named private, and the default mode stored
// alice's page and served it to bob (nginx searches the value for
// "private" and stores none of them). Same for `private=?0` outside a valid
// targeted field (Cache-Control has no Structured Field false), and for
// other punctuation around a directive. Words are now runs of letters,
// digits and '-'.
func TestQuotedCacheControlNotStored(t *testing.T) {
	for _, cc := range []string{`"private, max-age=0"`, `"no-store"`, `max-age=60 private=?0`, `(private)`, `max-age=60, private.`, `max-age=60|no-store`} {
		t.Run(cc, func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			h := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", cc)
				ck, _ := r.Cookie("user")
				fmt.Fprintf(w, "account of %s", ck.Value)
			}))
			get(h, "/account", "Cookie", "user=alice")
			assert.Equal(t, "account of bob", get(h, "/account", "Cookie", "user=bob").Body.String(), "bob was served alice's page")
		})
	}
}
