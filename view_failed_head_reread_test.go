package caching

import (
	"net/http"
	"testing"
)

// TestFailedHeadStaleRechecked: a HEAD whose handler failed (a 5xx, or a
// panic before its response was committed) was answered with the stale
// entry its lookup found however long its handler took: an invalidation
// made while it ran (InvalidateTags, InvalidatePath, a Delete of its key, a
// Clear), or a handler slow enough to take the entry past its
// stale-if-error window, did not stop it, where a GET's run reads the
// entry again and judges it then (failedAnswer). A HEAD now does the same:
// it gets its failure as a HEAD without the entry would, the entry only
// while it still answers that failure, and a newer fresh entry stored
// meanwhile by another process as a HIT.
func TestFailedHeadStaleRechecked(t *testing.T) {
	failedLeaderOwnStaleRechecked(t, http.MethodHead)
}
