package caching

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// TestFailedLeaderWaiterInvalidated: a waiter whose own lookup found a stale
// entry, and whose leader's handler then failed (viewResult.failed), served
// that entry without asking whether it was invalidated while it waited: a
// tag or path invalidation, a Delete of its key or a Clear made after its
// lookup and before the leader failed. A request that came after the
// invalidation misses the entry; the waiter, answered after it, must not be
// served it either: it runs its own handler, as a request without an entry
// does, and gets the page the handler makes now. Without an invalidation,
// it is still answered with its entry (also where it reads it again from a
// remote store).
func TestFailedLeaderWaiterInvalidated(t *testing.T) {
	for _, tc := range failedOwnCases {
		switch tc.name {
		case "past", "newer": // TestFailedLeaderWaiterWindowJudgedLate, TestFailedLeaderWaiterServesNewerEntry
			continue
		}
		failedLeaderRuns(t, tc.name, false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			f := newFailedLeader(t, &Options{Backend: b}, failure, flow.cc, flow.opts...)
			w := f.waiter(func() { tc.do(t, f, flow.cc) })
			assertFailedWaiterAnswer(t, w, f.runs.Load(), tc.want)
		})
	}
}

// assertFailedWaiterAnswer asserts that w, the response of a waiter of a
// stale key's failed leader (failedLeader.waiter) after the handler ran
// runs times, is want: "STALE" the stale entry, and the waiter ran no
// handler; "" the page the handler makes now (its own run's).
func assertFailedWaiterAnswer(t *testing.T, w *httptest.ResponseRecorder, runs int64, want string) {
	t.Helper()
	if want == "STALE" {
		assert.Equal(t, "page", w.Body.String())
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		assert.Equal(t, int64(2), runs, "the waiter runs no handler of its own")
		return
	}
	assert.Equal(t, "new page", w.Body.String(), "the waiter was served the entry invalidated while it waited (X-Cache: %s)", w.Header().Get("X-Cache"))
	assert.Equal(t, http.StatusOK, w.Code)
	assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
}

// TestFailedLeaderWaiterWindowJudgedLate: a waiter's stale entry answers the
// failure of the run it waited for only within its stale window as judged
// when it is answered, by the Cache's clock, as the failure of its own run
// would be: it was judged at its lookup, so a waiter that waited past the
// window (StaleIfError; in a SharedCache view the response's
// stale-if-error, the entry kept longer for revalidation, its ETag) was
// served an entry that neither its own run's failure nor a request made
// then would get. Within the window it still is.
func TestFailedLeaderWaiterWindowJudgedLate(t *testing.T) {
	for _, tc := range []struct {
		name  string
		ttl   time.Duration
		opts  []ViewOption
		cc    string        // the handler's Cache-Control
		wait  time.Duration // the clock's advance while the waiter waits (its lookup: 5 s past fresh)
		stale bool          // still within the window: served stale
	}{
		{"default/within", 10 * time.Second, []ViewOption{StaleIfError(time.Minute)}, "", 20 * time.Second, true},
		{"default/past", 10 * time.Second, []ViewOption{StaleIfError(time.Minute)}, "", 60 * time.Second, false},
		// The ETag keeps the entry the view's ttl past its freshness, for
		// revalidation: the lookup still finds it past the window.
		{"shared/within", time.Hour, []ViewOption{StaleIfError(5 * time.Minute), SharedCache()}, "max-age=10, stale-if-error=30", 10 * time.Second, true},
		{"shared/past", time.Hour, []ViewOption{StaleIfError(5 * time.Minute), SharedCache()}, "max-age=10, stale-if-error=30", 30 * time.Second, false},
	} {
		for _, failure := range []string{"panic", "500"} {
			t.Run(tc.name+"/"+failure, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					clock := testutil.NewClock()
					o := &Options{Backend: newSimple(t, clock), Clock: clock.Now}
					f := newFailingView(t, o, tc.ttl, tc.opts, func(runs *atomic.Int64, hold <-chan struct{}) http.Handler {
						return failingLeaderOrigin(runs, hold, failure, tc.cc)
					})
					require.Equal(t, "page", get(f.h, "/p").Body.String())
					clock.Advance(15 * time.Second) // stale, within its window
					w := f.waiter(func() { clock.Advance(tc.wait) })
					if tc.stale {
						assert.Equal(t, "page", w.Body.String())
						assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
						return
					}
					assert.Equal(t, "new page", w.Body.String(), "the waiter was served its entry past its window (X-Cache: %s)", w.Header().Get("X-Cache"))
					assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
				})
			})
		}
	}
}

// TestFailedLeaderWaiterUnreadInvalidated: a waiter of a failed leader whose
// read of its stale entry fails (the remote store went down) keeps the entry
// (fail open), but not past what its process knows without the store: an
// invalidation of its own that succeeded while the waiter waited, a Clear
// begun then, or one of the entry's tags whose invalidation failed and waits
// for its retry. It served the entry all the same; a request made then,
// whose lookup fails, has no entry to serve. It runs its own handler now.
// With none of those, the entry is still served.
func TestFailedLeaderWaiterUnreadInvalidated(t *testing.T) {
	for _, tc := range failedUnreadCases {
		failedLeaderRuns(t, tc.name, true, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			f := newFailedLeader(t, unreadOptions(b), failure, flow.cc, flow.opts...)
			w := f.waiter(func() { tc.do(t, f, flow.cc) })
			assertFailedWaiterAnswer(t, w, f.runs.Load(), tc.want)
		})
	}
}
