package caching

import (
	"testing"
	"testing/synctest"
)

// TestViewRefreshAheadHoldEndsForShorterNewEntry: in a SharedCache view,
// the hold of a failed RefreshAhead refresh (a quarter of d, at most a
// second, and at most a quarter of the refreshed entry's lifetime) kept
// off the refresh of an entry stored after it whose origin had shortened
// its freshness below a second: the new entry, due, was not refreshed,
// and it expired in front of a client (an ordinary miss). A hold keeps off
// no entry stored after the one whose refresh failed.
func TestViewRefreshAheadHoldEndsForShorterNewEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { viewHoldShortRefreshed(t, 0) })
}
