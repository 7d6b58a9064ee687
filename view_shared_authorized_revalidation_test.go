package caching

import (
	"fmt"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// authorizedHandler answers an anonymous request with a public response
// and an authenticated one with the account's field and no Cache-Control
// (never shared, RFC 9111 section 3.5); both have the same ETag, and a
// request with it gets a 304 carrying the same fields. runs counts the
// requests that reach it.
func authorizedHandler(extra string, runs *int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*runs++
		if user := r.Header.Get("Authorization"); user == "" {
			w.Header().Set("Cache-Control", "public, max-age=10")
		} else {
			w.Header().Set("X-Account", user)
			if extra != "" {
				w.Header().Set("Cache-Control", extra)
			}
		}
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		fmt.Fprint(w, "the document")
	})
}

// TestSharedCacheAuthorized304KeepsItsFields: in a SharedCache view a
// response to a request with Authorization is stored only if it says it
// may be shared (public, s-maxage, must-revalidate: RFC 9111 section 3.5).
// The 304 that answers alice's revalidation of a stale shared entry is
// judged by its own header, not by the stored one merged in (whose public
// is the anonymous response's): hers says nothing, so alice gets the
// document with her fields, and the entry the others get is left as it
// was.
func TestSharedCacheAuthorized304KeepsItsFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		runs := 0
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(authorizedHandler("", &runs))
		require.Empty(t, get(h, "/doc").Header().Get("X-Account"))
		time.Sleep(15 * time.Second) // stale
		alice := get(h, "/doc", "Authorization", "Bearer alice")
		require.Equal(t, "the document", alice.Body.String())
		assert.Equal(t, "Bearer alice", alice.Header().Get("X-Account"), "alice is served her own 304's fields")
		bob := get(h, "/doc")
		assert.Empty(t, bob.Header().Get("X-Account"), "an anonymous client got alice's field (%s)", bob.Header().Get("X-Cache"))
		assert.Equal(t, 3, runs, "the stale entry was not freshened by alice's 304: bob's request revalidates it")
	})
}

// TestSharedCacheAuthorizedPublic304Freshens: a 304 to a request with
// Authorization that says public itself freshens the shared entry, as
// its 200 would be stored.
func TestSharedCacheAuthorizedPublic304Freshens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		runs := 0
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(authorizedHandler("public, max-age=10", &runs))
		get(h, "/doc")
		time.Sleep(15 * time.Second) // stale
		get(h, "/doc", "Authorization", "Bearer alice")
		bob := get(h, "/doc")
		assert.Equal(t, 2, runs, "alice's 304 freshened the entry")
		assert.Equal(t, "Bearer alice", bob.Header().Get("X-Account"), "the origin said public: its fields are shared")
	})
}

// TestSharedCacheAuthorizedHEADKeepsItsFields: the same through a HEAD
// (RFC 9111 section 4.3.5): alice's HEAD 200, with her account's field
// and no Cache-Control, has the stored GET's validators, but does not
// freshen the shared entry.
func TestSharedCacheAuthorizedHEADKeepsItsFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		runs := 0
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(authorizedHandler("", &runs))
		require.Empty(t, get(h, "/doc").Header().Get("X-Account"))
		time.Sleep(15 * time.Second) // stale
		alice := send(h, http.MethodHead, "/doc", "Authorization", "Bearer alice")
		assert.Equal(t, "Bearer alice", alice.Header().Get("X-Account"))
		bob := get(h, "/doc")
		assert.Empty(t, bob.Header().Get("X-Account"), "an anonymous client got alice's field (%s)", bob.Header().Get("X-Cache"))
		assert.Equal(t, 3, runs, "the stale entry was not freshened by alice's HEAD: bob's request revalidates it")
	})
}

// TestSharedCacheAuthorizedPublicHEADFreshens: alice's HEAD 200 that says
// public freshens the stored GET.
func TestSharedCacheAuthorizedPublicHEADFreshens(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		runs := 0
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"))(authorizedHandler("public, max-age=10", &runs))
		get(h, "/doc")
		time.Sleep(15 * time.Second) // stale
		send(h, http.MethodHead, "/doc", "Authorization", "Bearer alice")
		bob := get(h, "/doc")
		assert.Equal(t, 2, runs, "alice's HEAD freshened the entry")
		assert.Equal(t, "Bearer alice", bob.Header().Get("X-Account"))
	})
}

// TestSharedCacheAuthorizedRevalidationWithUserKey: with UserKey the
// entries are the user's own: alice's 304 freshens hers.
func TestSharedCacheAuthorizedRevalidationWithUserKey(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		runs := 0
		inner := authorizedHandler("", &runs)
		h := c.Cached(time.Hour, SharedCache(), CacheStatusHeader("X-Cache"), UserKey(func(r *http.Request) string {
			return r.Header.Get("Authorization")
		}))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Her own responses carry a lifetime, as the anonymous one does.
			w.Header().Set("Cache-Control", "max-age=10")
			inner.ServeHTTP(w, r)
		}))
		get(h, "/doc", "Authorization", "Bearer alice")
		time.Sleep(15 * time.Second)                    // stale
		get(h, "/doc", "Authorization", "Bearer alice") // revalidated: 304
		again := get(h, "/doc", "Authorization", "Bearer alice")
		assert.Equal(t, "HIT", again.Header().Get("X-Cache"))
		assert.Equal(t, "Bearer alice", again.Header().Get("X-Account"))
		assert.Equal(t, 2, runs)
	})
}
