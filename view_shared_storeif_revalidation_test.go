package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheStoreIfJudgesRevalidation: StoreIf "runs after the
// built-in rules, which it cannot loosen", and a view that must never store
// a signed-in user's page says so with StoreIf (no X-User). A 200 with
// X-User was refused, but a 304 (or a HEAD's 200) that revalidated the
// anonymous entry for a signed-in user was merged into the entry and
// stored without StoreIf seeing it: the next client was served X-User:
// alice as a HIT. StoreIf now judges the freshened response (the stored
// status and body, with the header merged as its client got it), and a
// refusal keeps the entry as it was.
func TestSharedCacheStoreIfJudgesRevalidation(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=10")
					w.Header().Set("ETag", `"x"`)
					if ck, err := r.Cookie("session"); err == nil {
						w.Header().Set("X-User", ck.Value)
					}
					if r.Header.Get("If-None-Match") == `"x"` {
						w.WriteHeader(http.StatusNotModified)
					}
				}}
				var seen []*Response
				var asked atomic.Int32
				noUser := StoreIf(func(r *Response) bool {
					asked.Add(1)
					seen = append(seen, r)
					return r.Header.Get("X-User") == ""
				})
				ch := e.sharedView(h, noUser)

				// A 200 with X-User is not stored.
				get(ch, "/b", "Cookie", "session=alice")
				w := get(ch, "/b")
				require.Empty(t, w.Header().Get("X-User"), "StoreIf refused the 200")

				get(ch, "/a") // anonymous: stored
				e.clock.Advance(20 * time.Second)
				n := asked.Load()
				w = send(ch, method, "/a", "Cookie", "session=alice")
				assert.Equal(t, "alice", w.Header().Get("X-User"))
				require.Equal(t, n+1, asked.Load(), "StoreIf asked of the revalidation")
				last := seen[len(seen)-1]
				assert.Equal(t, http.StatusOK, last.Status, "the freshened response")
				assert.Equal(t, "b #3", string(last.Body), "the stored body")
				assert.Equal(t, "max-age=10", last.Header.Get("Cache-Control"))

				w = get(ch, "/a") // bob
				assert.Empty(t, w.Header().Get("X-User"),
					"a response StoreIf refuses was stored by a revalidation (X-Cache %q)", w.Header().Get("X-Cache"))
			})
		})
	}
}

// TestSharedCacheStoreIfAcceptsRevalidation: a revalidation StoreIf accepts
// freshens the entry as before.
func TestSharedCacheStoreIfAcceptsRevalidation(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		h := &counter{body: "b", fn: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			w.Header().Set("ETag", `"x"`)
			if r.Header.Get("If-None-Match") == `"x"` {
				w.WriteHeader(http.StatusNotModified)
			}
		}}
		ch := e.sharedView(h, StoreIf(func(r *Response) bool { return r.Header.Get("X-User") == "" }))
		get(ch, "/a")
		e.clock.Advance(20 * time.Second)
		get(ch, "/a") // 304: freshened
		require.EqualValues(t, 2, h.calls.Load())
		w := get(ch, "/a")
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, "b #1", w.Body.String())
		assert.EqualValues(t, 2, h.calls.Load())
	})
}
