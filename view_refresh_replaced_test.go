package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refreshReplacedCases are the background refreshes a request may start
// for the entry it read: stale-while-revalidate's and RefreshAhead's, of a
// plain entry, of a variant's, and in a SharedCache view (a conditional
// request answered 304). after is how long after the first store the
// request comes, and status the X-Cache it is served with.
var refreshReplacedCases = []refreshReplacedCase{
	{
		name: "stale-while-revalidate",
		view: func(e *viewEnv, h *counter) http.Handler {
			return e.c.Cached(time.Minute, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(h)
		},
		after: 70 * time.Second, status: "STALE",
	},
	{
		name: "refresh ahead",
		view: func(e *viewEnv, h *counter) http.Handler {
			return e.c.Cached(time.Minute, RefreshAhead(10*time.Second), CacheStatusHeader("X-Cache"))(h)
		},
		after: 55 * time.Second, status: "HIT",
	},
	{
		name: "variant",
		view: func(e *viewEnv, h *counter) http.Handler {
			return e.c.Cached(time.Minute, StaleWhileRevalidate(time.Minute), CacheStatusHeader("X-Cache"))(h)
		},
		fn:    vary("Accept-Language"),
		hdr:   []string{"Accept-Language", "fr"},
		after: 70 * time.Second, status: "STALE",
	},
	{
		name:  "shared stale-while-revalidate",
		view:  func(e *viewEnv, h *counter) http.Handler { return e.sharedView(h, StaleWhileRevalidate(time.Minute)) },
		fn:    revalidated("max-age=10, stale-while-revalidate=60"),
		after: 15 * time.Second, status: "STALE",
	},
	{
		name:  "shared refresh ahead",
		view:  func(e *viewEnv, h *counter) http.Handler { return e.sharedView(h, RefreshAhead(5*time.Second)) },
		fn:    revalidated("max-age=10"),
		after: 7 * time.Second, status: "HIT",
	},
}

type refreshReplacedCase struct {
	name   string
	view   func(e *viewEnv, h *counter) http.Handler
	fn     func(w http.ResponseWriter, r *http.Request)
	hdr    []string
	after  time.Duration
	status string
}

// revalidated is a handler of an ETag, with Cache-Control cc, that
// answers a request conditional on it with 304.
func revalidated(cc string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", `"x"`)
		if r.Header.Get("If-None-Match") == `"x"` {
			w.WriteHeader(http.StatusNotModified)
		}
	}
}

// start makes tc's view on a store of kind k, stores its entry of "/a"
// (one handler call) and advances the clock by tc.after. It clears
// refreshAskedHook at the test's end.
func (tc refreshReplacedCase) start(t *testing.T, k storeKind) (*viewEnv, *counter, http.Handler) {
	t.Helper()
	e := newViewEnv(t, k)
	h := &counter{body: "b", fn: tc.fn}
	ch := tc.view(e, h)
	get(ch, "/a", tc.hdr...)
	require.EqualValues(t, 1, h.calls.Load())
	e.clock.Advance(tc.after)
	t.Cleanup(func() { refreshAskedHook = nil })
	return e, h, ch
}

// getOvertaken serves "/a" to a request that, once it has read the entry
// and before it looks for a refresh of it in progress, is overtaken:
// another request reads the entry too and starts the refresh, which
// stores and ends; then (where not nil) runs then. It returns, once the
// refreshes have ended, the X-Cache and body the first request was served
// with, and the X-Cache of the other.
func (tc refreshReplacedCase) getOvertaken(t *testing.T, e *viewEnv, ch http.Handler, then func()) (status, body, otherStatus string) {
	t.Helper()
	var asked atomic.Int32
	refreshAskedHook = func(string) {
		if asked.Add(1) != 1 {
			return // the other request's: its refresh starts
		}
		otherStatus = get(ch, "/a", tc.hdr...).Header().Get("X-Cache")
		e.c.wait()
		if then != nil {
			then()
		}
	}
	w := get(ch, "/a", tc.hdr...)
	e.c.wait()
	refreshAskedHook = nil
	require.EqualValues(t, 2, asked.Load(), "both requests asked for a refresh")
	return w.Header().Get("X-Cache"), w.Body.String(), otherStatus
}

// TestViewRefreshOfReplacedEntrySkipped: a request reads the entry (stale,
// or within RefreshAhead), and before it looks for a refresh of it in
// progress, another request reads the same entry and starts the refresh,
// which stores the new entry and ends. The first request's refresh found
// none running and ran the handler again (for SharedCache, one more
// conditional request to the origin) for an entry already replaced: under
// load, every hot key at each refresh could cost its origin one more call.
// The refresh now reads the entry first and runs nothing when it was
// stored after the one the request read.
func TestViewRefreshOfReplacedEntrySkipped(t *testing.T) {
	for _, tc := range refreshReplacedCases {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e, h, ch := tc.start(t, k)
				status, body, other := tc.getOvertaken(t, e, ch, nil)
				assert.Equal(t, tc.status, other, "the other request")
				assert.Equal(t, tc.status, status)
				assert.Equal(t, "b #1", body)
				assert.EqualValues(t, 2, h.calls.Load(), "one refresh of the entry, not one more after it was replaced")

				assert.Equal(t, "HIT", get(ch, "/a", tc.hdr...).Header().Get("X-Cache"), "the refreshed entry")
				assert.EqualValues(t, 2, h.calls.Load())
			})
		})
	}
}

// TestViewRefreshRunsWhenEntryUnread: the refresh's read of the entry
// fails (the backend is down since the request read it): the refresh
// still runs the handler, as it did before it read the entry.
func TestViewRefreshRunsWhenEntryUnread(t *testing.T) {
	for _, tc := range refreshReplacedCases {
		t.Run(tc.name, func(t *testing.T) {
			e, h, ch := tc.start(t, viewStores[1])
			store := e.store.(*remote)
			refreshAskedHook = func(string) { store.fail.Store(true) }
			w := get(ch, "/a", tc.hdr...)
			e.c.wait()
			refreshAskedHook = nil
			assert.Equal(t, tc.status, w.Header().Get("X-Cache"))
			assert.EqualValues(t, 2, h.calls.Load(), "the refresh ran")
		})
	}
}

// TestViewRefreshOfInvalidatedEntryRuns: as in
// TestViewRefreshOfReplacedEntrySkipped, but the newer entry was
// invalidated (InvalidatePath) before the first request's refresh starts:
// that entry is none, and the refresh runs and stores, so that the next
// request is a hit rather than a miss.
func TestViewRefreshOfInvalidatedEntryRuns(t *testing.T) {
	for _, tc := range refreshReplacedCases {
		t.Run(tc.name, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e, h, ch := tc.start(t, k)
				tc.getOvertaken(t, e, ch, func() {
					assert.NoError(t, e.c.InvalidatePath(context.Background(), "/a"))
				})
				// (In a SharedCache view the refresh's 304 finds no entry to
				// freshen, and the refresh asks again without validators.)
				n := h.calls.Load()
				assert.Greater(t, n, int64(2), "the invalidated entry was refreshed")
				w := get(ch, "/a", tc.hdr...)
				assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "the refresh stored")
				assert.Equal(t, fmt.Sprintf("b #%d", n), w.Body.String())
				assert.Equal(t, n, h.calls.Load())
			})
		})
	}
}
