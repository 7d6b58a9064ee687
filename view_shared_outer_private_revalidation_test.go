package caching

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// privateForSession is a middleware outside the view that marks the
// responses of signed-in clients (a "session" cookie) private before the
// handler runs, as many Go auth middlewares do, leaving the handler to set
// its own freshness (here Expires) and validator.
func privateForSession(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie("session"); err == nil {
			w.Header().Set("Cache-Control", "private")
		}
		next.ServeHTTP(w, r)
	})
}

// articleHandler answers with Expires 10 s ahead and the weak ETag of the
// article (the same for every user), a 304 to a matching If-None-Match, and
// X-User for a signed-in client.
func articleHandler(e *viewEnv) *counter {
	return &counter{body: "article", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Expires", e.httpDate(10*time.Second))
		w.Header().Set("ETag", `W/"article-7"`)
		if ck, err := r.Cookie("session"); err == nil {
			w.Header().Set("X-User", ck.Value)
		}
		if r.Header.Get("If-None-Match") == `W/"article-7"` {
			w.WriteHeader(http.StatusNotModified)
		}
	}}
}

// TestSharedCacheOuterPrivate200NotStored: a 200 to a signed-in client is
// judged with the private an outer middleware set before the handler ran,
// and is not stored.
func TestSharedCacheOuterPrivate200NotStored(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := articleHandler(e)
		ch := privateForSession(e.sharedView(h))
		get(ch, "/a", "Cookie", "session=alice")
		w := get(ch, "/a")
		assert.Empty(t, w.Header().Get("X-User"))
		assert.EqualValues(t, 2, h.calls.Load(), "alice's private 200 was stored")
	})
}

// TestSharedCacheRevalidationWithOuterPrivateIsNotShared: a signed-in
// client revalidates the anonymous entry, and the handler's 304 (or HEAD
// 200) carries her own fields (X-User) under the Cache-Control: private an
// outer middleware set before the handler ran. The revalidation was judged
// on the handler's own fields only, without the outer private: her 304
// freshened the shared entry, and the next anonymous client was served
// X-User: alice as a HIT. It is now judged on the header as committed, as
// a 200 is: the entry is not freshened with it.
func TestSharedCacheRevalidationWithOuterPrivateIsNotShared(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := articleHandler(e)
				ch := privateForSession(e.sharedView(h))
				get(ch, "/a") // anonymous: stored
				e.clock.Advance(20 * time.Second)
				w := send(ch, method, "/a", "Cookie", "session=alice") // stale: alice revalidates
				require.EqualValues(t, 2, h.calls.Load())
				assert.Equal(t, "alice", w.Header().Get("X-User"))
				assert.Equal(t, "private", w.Header().Get("Cache-Control"), "alice's response says it is hers")

				w = get(ch, "/a") // bob, anonymous
				assert.Empty(t, w.Header().Get("X-User"),
					"alice's fields served to bob (X-Cache %q): her response was private", w.Header().Get("X-Cache"))
				assert.Empty(t, w.Header().Get("Cache-Control"))
				assert.Equal(t, "article #1", w.Body.String())
			})
		})
	}
}
