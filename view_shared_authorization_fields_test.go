package caching

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSharedCacheAuthorizationFieldLists: a directive with a field-name
// list (RFC 9111 sections 5.2.2.4 and 5.2.2.7) is read as the unqualified
// directive. A response to a request with Authorization that says
// no-cache="Set-Cookie" (without public, s-maxage or must-revalidate) or
// private="X" (even with public) is not stored, so the next client,
// without Authorization, reaches the handler rather than the first one's
// response.
func TestSharedCacheAuthorizationFieldLists(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		for _, cc := range []string{
			`max-age=60, no-cache="Set-Cookie"`,
			`public, private="X-User", max-age=60`,
			`s-maxage=60, private="X-User"`,
		} {
			t.Run(cc, func(t *testing.T) {
				e := newViewEnv(t, k)
				h := &counter{body: "x", fn: cacheControl(cc)}
				ch := e.sharedView(h)
				first := get(ch, "/a", "Authorization", "Bearer alice")
				assert.Equal(t, "x #1", first.Body.String())
				w := get(ch, "/a")
				assert.Equal(t, http.StatusOK, w.Code)
				assert.Equal(t, "x #2", w.Body.String(), "alice's response reached another client")
				assert.EqualValues(t, 2, h.calls.Load())
			})
		}
	})
}
