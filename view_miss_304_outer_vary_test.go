package caching

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// varyCookieOn2xx is an outer middleware (a session layer) that adds
// Vary: Cookie to the 2xx responses it passes, as it sees them go by: a
// 304 passes it without the field.
type varyCookieOn2xx struct{ http.ResponseWriter }

func (w varyCookieOn2xx) WriteHeader(code int) {
	if code >= 200 && code < 300 {
		w.Header().Add("Vary", "Cookie")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w varyCookieOn2xx) Write(p []byte) (int, error) {
	// An implicit 200 passes WriteHeader too (the view commits through it).
	return w.ResponseWriter.Write(p)
}

// TestViewMiss304OuterVary: a miss answered with a 304 made from the
// handler's 200 (the client's If-None-Match matched) hid the 200 from a
// middleware outside the view: one that adds Vary: Cookie to a 2xx only
// never added it, and the view, which judges the fields the writers below
// it add, stored the 200 keyed by nothing. Alice's conditional request
// stored her page, and Bob's plain request was served it as a hit. The
// view makes the 304 only of a response it refused at commit (nothing
// stored, nothing handed on); a 200 it may store reaches the client, and
// the middleware, whole.
func TestViewMiss304OuterVary(t *testing.T) {
	for name, opts := range map[string][]ViewOption{
		"default":     {CacheStatusHeader("X-Cache")},
		"SharedCache": {CacheStatusHeader("X-Cache"), SharedCache()},
	} {
		t.Run(name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					user := "anonymous"
					if ck, err := r.Cookie("user"); err == nil {
						user = ck.Value
					}
					w.Header().Set("Cache-Control", "public, max-age=60")
					w.Header().Set("ETag", `"page-`+user+`"`)
					_, _ = w.Write([]byte("account of " + user))
				})
				h := http.Handler(e.c.Cached(time.Minute, opts...)(page))
				inner := h
				h = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					inner.ServeHTTP(varyCookieOn2xx{w}, r)
				})

				w := get(h, "/account", "Cookie", "user=alice", "If-None-Match", `"page-alice"`)
				assert.Equal(t, http.StatusOK, w.Code, "a 200 the view may store reaches the middleware whole")
				assert.Equal(t, "account of alice", w.Body.String())
				assert.Equal(t, "Cookie", w.Header().Get("Vary"), "the middleware saw the 200")

				w = get(h, "/account", "Cookie", "user=bob")
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "account of bob", w.Body.String(),
					"Bob was served Alice's page (X-Cache %s)", w.Header().Get("X-Cache"))
				assert.False(t, strings.Contains(w.Body.String(), "alice"))

				// Alice's own plain request is a hit of her variant.
				w = get(h, "/account", "Cookie", "user=alice")
				assert.Equal(t, "account of alice", w.Body.String())
			})
		})
	}
}
