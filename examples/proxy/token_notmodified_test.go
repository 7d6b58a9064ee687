package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCredentialRevalidationNotAnsweredFromTargetedPage: a 304 the cache
// makes from a stored page carries a few of its fields only (RFC 9110
// section 15.4.5): Cache-Control, not CDN-Cache-Control, the proxy's
// X-Proxy-Cache-Control or X-Proxy-Anonymous. An anonymous page sent with
// "CDN-Cache-Control: max-age=600, must-revalidate" (which the cache
// follows, and which says neither public nor s-maxage) and "Cache-Control:
// public, max-age=60" (for browsers) was refused to a signed-in user's
// GET, but answered that user's revalidation with the anonymous page's
// ETag (a browser that kept the page from before signing in) with the
// cache's 304: the user was shown the anonymous page. The revalidation
// goes to the origin, which makes that user's page.
func TestCredentialRevalidationNotAnsweredFromTargetedPage(t *testing.T) {
	for _, args := range [][]string{nil, {"-default-ttl", "1m"}} {
		front, _ := startProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if user := r.Header.Get("X-Api-Key") + r.Header.Get("Authorization"); user != "" {
				w.Header().Set("ETag", `"`+user+`"`)
				w.Header().Set("Cache-Control", "private")
				_, _ = w.Write([]byte("data of " + user))
				return
			}
			w.Header().Set("ETag", `"anon"`)
			w.Header().Set("CDN-Cache-Control", "max-age=600, must-revalidate")
			w.Header().Set("Cache-Control", "public, max-age=60")
			_, _ = w.Write([]byte("page for everyone"))
		}), nil, args...)
		u := front.URL + "/dashboard"
		send(t, http.MethodGet, u)
		res, _ := send(t, http.MethodGet, u)
		require.Equal(t, "HIT", res.Header.Get(statusHeader), "the anonymous page is stored")
		for _, cred := range [][]string{{"X-Api-Key", "alice"}, {"Authorization", "Bearer alice"}} {
			t.Run(fmt.Sprint(args, cred), func(t *testing.T) {
				_, body := send(t, http.MethodGet, u, cred...)
				require.Contains(t, body, "data of ", "the anonymous page served to a signed-in user")
				res, body := send(t, http.MethodGet, u, append([]string{"If-None-Match", `"anon"`}, cred...)...)
				assert.Equal(t, http.StatusOK, res.StatusCode, "the cache's 304 vouched for the anonymous page to a signed-in user")
				assert.Contains(t, body, "data of ")
			})
		}
	}
}
