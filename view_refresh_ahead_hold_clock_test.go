package caching

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewRefreshAheadHoldClockSteppedBack: in a SharedCache view, the
// hold of a failed RefreshAhead refresh kept off the refreshes of every
// entry stored at or before the failed one by the clock, and so the
// refresh of an entry stored after it once the wall clock had been
// stepped back (its Created earlier than the failed entry's): due, its
// origin having shortened its freshness below a second, it expired in
// front of a client. A hold keeps off the failed entry, and an entry its
// clock says is older only while that stays fresh past the hold.
func TestViewRefreshAheadHoldClockSteppedBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { viewHoldShortRefreshed(t, 2*time.Minute) })
}

// viewHoldShortRefreshed: in a SharedCache view under RefreshAhead(4s),
// whose entry stored at 0.5 s, fresh for a minute, was due at 60.3 s and
// its refresh failed (a hold until 61.3 s), an entry stored at 60.6 s, with
// the wall clock stepped back by back before, fresh for under a second
// (to the end of its Date's second), is refreshed when due, within the
// hold. Run in a synctest bubble.
func viewHoldShortRefreshed(t *testing.T, back time.Duration) {
	hv := newHoldView(t, 1)
	time.Sleep(500 * time.Millisecond)
	require.Equal(t, "page #1", get(hv.h, "/p").Body.String()) // fresh until 60.5 s
	time.Sleep(59800 * time.Millisecond)                       // 60.3 s: due
	hv.failing.Store(true)
	require.Equal(t, "page #1", get(hv.h, "/p").Body.String())
	synctest.Wait()
	require.Equal(t, int64(2), hv.runs.Load(), "the refresh ran, and failed: held for a second")
	hv.failing.Store(false)
	hv.short.Store(true)

	time.Sleep(300 * time.Millisecond) // 60.6 s: expired, within the hold
	hv.stepped.Store(int64(back))
	require.Equal(t, "page #3", get(hv.h, "/p").Body.String(), "a miss stored a new entry, fresh until 61 s")
	time.Sleep(200 * time.Millisecond) // 60.8 s: the new entry is due, the hold not over
	require.Equal(t, "page #3", get(hv.h, "/p").Body.String())
	synctest.Wait()
	assert.Equal(t, int64(4), hv.runs.Load(), "the new entry, due, was not refreshed: held by the failure before it")
}

// holdView is a SharedCache view under RefreshAhead(4s), for the hold
// tests: its handler answers 503 while failing, and otherwise "page #N",
// fresh for a minute, or, while short, for max-age=shortAge dated at the
// start of its second. Its Cache's wall clock is stepped back by stepped.
type holdView struct {
	c              *Cache
	h              http.Handler
	stepped, runs  atomic.Int64
	failing, short atomic.Bool
}

func newHoldView(t *testing.T, shortAge int) *holdView {
	hv := &holdView{}
	clock := func() time.Time { return time.Now().Add(-time.Duration(hv.stepped.Load())) }
	hv.c = Must(&Options{Backend: newSimple(t, nil), Clock: clock})
	t.Cleanup(func() { hv.c.Close() })
	hv.h = hv.c.Cached(time.Hour, RefreshAhead(4*time.Second), SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := hv.runs.Add(1)
		if hv.failing.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if hv.short.Load() {
			// Dated at the start of the second: fresh until its end.
			w.Header().Set("Date", clock().Truncate(time.Second).UTC().Format(http.TimeFormat))
			w.Header().Set("Cache-Control", fmt.Sprintf("max-age=%d", shortAge))
		} else {
			w.Header().Set("Cache-Control", "max-age=60")
		}
		fmt.Fprintf(w, "page #%d", n)
	}))
	return hv
}
