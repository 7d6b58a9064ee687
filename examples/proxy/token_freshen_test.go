package main

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenValidationFreshensNothingForOthers: tokenPrivate left a 304 and
// the response to a HEAD as they came, and the cache lets either freshen a
// stored entry for everyone when it says must-revalidate (RFC 9111 section
// 3.5, the mark being an Authorization to it). An origin that answered a
// token user's revalidation or HEAD with "max-age=600, must-revalidate" and
// the user's own fields (X-Account) had those fields, and its lifetime,
// merged into the shared page and served to every client. Such answers
// are private now unless public or s-maxage: the token user gets them, the
// shared page stays as it was.
func TestTokenValidationFreshensNothingForOthers(t *testing.T) {
	origin := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-Api-Key")
		w.Header().Set("ETag", `"anon"`)
		if key == "" {
			w.Header().Set("Cache-Control", "public, max-age=1")
			fmt.Fprint(w, "anonymous")
			return
		}
		w.Header().Set("X-Account", key)
		w.Header().Set("Cache-Control", "max-age=600, must-revalidate")
		if r.Header.Get("If-None-Match") == `"anon"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method != http.MethodHead {
			fmt.Fprint(w, "user "+key)
		}
	})
	front, _ := startProxy(t, origin, nil)
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			u := front.URL + "/page/" + method
			_, body := send(t, http.MethodGet, u)
			require.Equal(t, "anonymous", body)
			time.Sleep(1100 * time.Millisecond) // past max-age=1: revalidated
			res, _ := send(t, method, u, "X-Api-Key", "alice")
			require.Equal(t, http.StatusOK, res.StatusCode)
			assert.Equal(t, "alice", res.Header.Get("X-Account"), "the origin's answer to alice")
			res, body = send(t, http.MethodGet, u)
			assert.Equal(t, "anonymous", body)
			assert.Empty(t, res.Header.Get("X-Account"), "alice's field served to another client")
			assert.Equal(t, "public, max-age=1", res.Header.Get("Cache-Control"), "alice's lifetime given to the shared page")
		})
	}
}
