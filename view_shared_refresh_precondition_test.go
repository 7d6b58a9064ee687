package caching

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// refreshModes are the two ways a hit starts a background refresh of a
// SharedCache entry stored at the clock's start: the time to advance the
// clock by before the hit, and the view's options.
var refreshModes = []struct {
	name string
	opts []ViewOption
	wait time.Duration
}{
	{"stale-while-revalidate", []ViewOption{StaleWhileRevalidate(time.Minute)}, 15 * time.Second},
	{"RefreshAhead", []ViewOption{RefreshAhead(8 * time.Second)}, 5 * time.Second},
}

// preconditionFields are the client's fields that make a request's own
// response one that answers it alone (a 206, a 412): extRun.precondition.
var preconditionFields = [][]string{
	{"Range", "bytes=0-1"},
	{"Range", "bytes=0-1", "If-Range", `"v1"`},
	{"If-Match", `"v1"`},
	{"If-Unmodified-Since", "Mon, 02 Jan 2006 15:04:05 GMT"},
	{"If_Match", `"v1"`},
}

// movedPage is an origin's page that moves (301 to /new) or goes (404),
// with freshness, once moved is set: either answer is stored by a shared
// cache as the 200 before it was.
func movedPage(status int, moved *atomic.Bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if !moved.Load() {
			w.Header().Set("Cache-Control", "max-age=10, stale-while-revalidate=60")
			w.Header().Set("ETag", `"v1"`)
			_, _ = w.Write([]byte("page"))
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		if status == http.StatusMovedPermanently {
			w.Header().Set("Location", "/new")
		}
		w.WriteHeader(status)
	}
}

// checkRefreshOfPreconditionStores runs the scenario of
// TestRefreshStartedByPreconditionStoresMove on view (over movedPage with
// moved): the page is stored, moves, a request with fields finds it after
// wait and starts a refresh, settle waits for it, and the next plain
// request must be served the stored move.
func checkRefreshOfPreconditionStores(t *testing.T, view http.Handler, moved *atomic.Bool, status int, fields []string, advance func(), settle func()) {
	t.Helper()
	assert.Equal(t, "page", get(view, "/p").Body.String())
	moved.Store(true)
	advance()
	get(view, "/p", fields...) // served from the entry; its refresh starts
	settle()
	w := get(view, "/p")
	assert.Equal(t, status, w.Code, "the refresh's %d, started by %q, was not stored (X-Cache %s)", status, fields, w.Header().Get("X-Cache"))
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
}

// TestRefreshStartedByPreconditionStoresMove: in a SharedCache view, a
// background refresh (stale-while-revalidate, RefreshAhead) started by a
// client's Range, If-Range, If-Match or If-Unmodified-Since request was
// judged as that request, though it is made without those fields
// (backgroundRequest): the origin's cacheable 301 or 404 answering it was
// refused as the answer to a precondition, and the stale page stayed, to
// be served (and refreshed again) by the next request. The refresh is now
// judged as the plain GET it makes, and stores the move as a miss would.
func TestRefreshStartedByPreconditionStoresMove(t *testing.T) {
	for _, mode := range refreshModes {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusNotFound} {
			for _, fields := range preconditionFields {
				t.Run(mode.name+"/"+strconv.Itoa(status)+"/"+fields[len(fields)-2], func(t *testing.T) {
					forEachViewStore(t, func(t *testing.T, k storeKind) {
						synctest.Test(t, func(t *testing.T) {
							e := newViewEnv(t, k)
							var moved atomic.Bool
							view := e.sharedView(movedPage(status, &moved), mode.opts...)
							checkRefreshOfPreconditionStores(t, view, &moved, status, fields,
								func() { e.clock.Advance(mode.wait) }, synctest.Wait)
						})
					})
				})
			}
		}
	}
}

// TestRefreshStartedByPreconditionStoresMoveOnRedis is
// TestRefreshStartedByPreconditionStoresMove on the real Redis.
func TestRefreshStartedByPreconditionStoresMoveOnRedis(t *testing.T) {
	for _, mode := range refreshModes {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusNotFound} {
			for _, fields := range [][]string{preconditionFields[0], preconditionFields[2]} {
				t.Run(mode.name+"/"+strconv.Itoa(status)+"/"+fields[0], func(t *testing.T) {
					clock := testutil.NewClock()
					c, _, _ := onRedisWith(t, Options{Clock: clock.Now})
					var moved atomic.Bool
					view := c.Cached(time.Hour, append([]ViewOption{SharedCache(), CacheStatusHeader("X-Cache")}, mode.opts...)...)(movedPage(status, &moved))
					checkRefreshOfPreconditionStores(t, view, &moved, status, fields,
						func() { clock.Advance(mode.wait) }, c.background.wait)
				})
			}
		}
	}
}
