package caching

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedCacheRevalidationFollowsHandlerDeletionOfOuterField: a
// security-headers middleware outside a SharedCache view sets
// X-Frame-Options: DENY on every response before the handler runs, and
// the handler deletes it once its page may be framed. The view records
// such a deletion in the entry on a 200 (Snapshot.Deleted), and a 304 to
// its conditional revalidation, or a HEAD 200 that validates the stored
// GET, freshens that entry (RFC 9111 sections 4.3.4, 4.3.5). The
// revalidation read the handler's fields without the outer ones and kept
// the 200's deletions as they were: a page that became embeddable went
// on sending X-Frame-Options on every hit after the 304 that said it
// no longer did (its own client included), and one that stopped being
// embeddable went on sending none. The freshened entry now records the
// deletions of the revalidating run, as a 200 does; an outer field the
// handler kept is still served, and a deletion of a field the outer
// middleware did not set on the revalidating request is kept (that run
// says nothing new of it).
func TestSharedCacheRevalidationFollowsHandlerDeletionOfOuterField(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method string // of the revalidating request
		// whether the handler deletes X-Frame-Options on the 200 the
		// entry is stored from, and on the run that revalidates it
		deleted200, deletedAfter bool
		// the outer middleware does not set X-Frame-Options on the
		// revalidating request
		outerSkips bool
		want       bool // whether the hits after the revalidation go without it
	}{
		{"304 deletes", http.MethodGet, false, true, false, true},
		{"304 keeps", http.MethodGet, true, false, false, false},
		{"304 deletes again", http.MethodGet, true, true, false, true},
		{"304 without the outer field", http.MethodGet, true, false, true, true},
		{"HEAD 200 deletes", http.MethodHead, false, true, false, true},
		{"HEAD 200 keeps", http.MethodHead, true, false, false, false},
		{"HEAD 200 without the outer field", http.MethodHead, true, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				var embeddable atomic.Bool
				embeddable.Store(tc.deleted200)
				var conditional atomic.Bool
				h := &counter{body: "widget", fn: func(w http.ResponseWriter, r *http.Request) {
					if embeddable.Load() {
						w.Header().Del("X-Frame-Options") // this page may be framed
					}
					w.Header().Set("Cache-Control", "max-age=10")
					w.Header().Set("ETag", `"w1"`)
					if r.Header.Get("If-None-Match") == `"w1"` {
						conditional.Store(true)
						w.WriteHeader(http.StatusNotModified)
					}
				}}
				view := e.sharedView(h)
				secure := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("X-Skip-Frame-Options") == "" {
						w.Header().Set("X-Frame-Options", "DENY")
					}
					w.Header().Set("X-Content-Type-Options", "nosniff")
					view.ServeHTTP(w, r)
				})
				check := func(w http.ResponseWriter, deleted bool, what string) {
					t.Helper()
					if deleted {
						assert.Empty(t, w.Header().Values("X-Frame-Options"), "%s: the handler deleted X-Frame-Options", what)
					} else {
						assert.Equal(t, []string{"DENY"}, w.Header().Values("X-Frame-Options"), "%s: the handler kept the outer X-Frame-Options", what)
					}
					assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"), "%s: an outer field the handler kept", what)
				}

				w := get(secure, "/embed")
				require.Equal(t, "MISS", w.Header().Get("X-Cache"))
				check(w, tc.deleted200, "the miss")
				check(get(secure, "/embed"), tc.deleted200, "a hit of the 200")

				e.clock.Advance(11 * time.Second)
				embeddable.Store(tc.deletedAfter)
				var skip []string
				if tc.outerSkips {
					skip = []string{"X-Skip-Frame-Options", "1"}
				}
				w = send(secure, tc.method, "/embed", skip...)
				require.EqualValues(t, 2, h.calls.Load(), "stale: revalidated")
				if tc.method == http.MethodGet {
					require.True(t, conditional.Load(), "a conditional revalidation")
					assert.Equal(t, "widget #1", w.Body.String(), "the stored body, which the 304 validated")
					check(w, tc.deletedAfter || tc.outerSkips, "the revalidating request's response")
				}

				for i := range 2 {
					w = get(secure, "/embed")
					require.Equal(t, "HIT", w.Header().Get("X-Cache"), "hit %d: the revalidation freshened the entry", i)
					assert.Equal(t, "widget #1", w.Body.String())
					check(w, tc.want, "a hit after the revalidation")
				}
				assert.EqualValues(t, 2, h.calls.Load())
			})
		})
	}
}
