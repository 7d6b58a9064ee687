package main

import (
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// basicAuth is the Authorization every client of a gateway sends (a
// staging site's password, an app's key), the same for all its users.
const basicAuth = "Basic c3RhZ2luZzpwdw=="

// perKeyOrigin returns an origin that answers with the data of the
// X-Api-Key it was sent, Cache-Control cc, Vary vary (unless "") and an
// ETag, and a function that returns the Authorization lines it got so far.
func perKeyOrigin(cc, vary string) (http.Handler, func() []string) {
	var mu sync.Mutex
	var seen []string
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen = append(seen, r.Header.Values("Authorization")...)
			mu.Unlock()
			w.Header().Set("Cache-Control", cc)
			if vary != "" {
				w.Header().Set("Vary", vary)
			}
			w.Header().Set("ETag", `"e"`)
			fmt.Fprint(w, "data of "+r.Header.Get("X-Api-Key"))
		}), func() []string {
			mu.Lock()
			defer mu.Unlock()
			return slices.Clone(seen)
		}
}

// TestTokenFieldBesideAuthorization: a read with a token field and an
// Authorization of its own (a gateway's, the same for every user) was
// cached as a plain read with Authorization: the token fields were
// neither in the mark nor made private. An origin that answered a user's
// own data with "max-age=60, must-revalidate" had it stored and served to
// every client, anonymous ones too; one that said public with Vary:
// Authorization had every user behind the gateway served the first one's
// data. Such a read is a token read now: its response is private unless
// public or s-maxage, and the cache's mark hashes its Authorization with
// its token fields; the origin still gets the client's Authorization.
func TestTokenFieldBesideAuthorization(t *testing.T) {
	for _, tc := range []struct{ cc, vary string }{
		{cc: "max-age=60, must-revalidate"},
		{cc: "public, max-age=60", vary: "Authorization"},
		{cc: "max-age=60, must-revalidate", vary: "Authorization"},
	} {
		t.Run(tc.cc+" "+tc.vary, func(t *testing.T) {
			origin, seen := perKeyOrigin(tc.cc, tc.vary)
			front, _ := startProxy(t, origin, nil)
			u := front.URL + "/api/me"
			_, body := send(t, http.MethodGet, u, "Authorization", basicAuth, "X-Api-Key", "alice")
			require.Equal(t, "data of alice", body)
			_, body = send(t, http.MethodGet, u, "Authorization", basicAuth, "X-Api-Key", "bob")
			assert.Equal(t, "data of bob", body, "alice's data served to bob")
			_, body = send(t, http.MethodGet, u, "X-Api-Key", "carol")
			assert.Equal(t, "data of carol", body, "alice's data served to carol")
			_, body = send(t, http.MethodGet, u)
			assert.Equal(t, "data of ", body, "alice's data served to an anonymous client")
			for _, line := range seen() {
				assert.Equal(t, basicAuth, line, "the origin got another Authorization than the client's")
			}
		})
	}
}
