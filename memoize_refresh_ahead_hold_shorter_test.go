package caching

import (
	"testing"
	"testing/synctest"
)

// TestMemoizeRefreshAheadHoldEndsForShorterNewEntry: the hold of a
// memoized function's failed RefreshAhead refresh (a quarter of d, at most
// a second, and at most a quarter of the refreshed entry's lifetime) kept
// off the refresh of an entry stored after it whose ResultTTL was shorter
// than a second: the new entry, due, was not refreshed, and it expired in
// front of a caller (a miss that waited for the function). A hold keeps
// off no entry stored after the one whose refresh failed, as a view's
// does.
func TestMemoizeRefreshAheadHoldEndsForShorterNewEntry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { holdShortRefreshed(t, 0) })
}
