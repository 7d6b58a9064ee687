package caching

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewRefreshAheadHoldLaggingReplica: in a view's non-SharedCache
// path, a hold judges the entry each hit read, by its own Created and
// FreshUntil: an older entry a lagging replica returns, fresh past the
// hold, is kept off; a newer entry, due within the hold, is let through.
// (The hold's let-through of an older entry near its end:
// TestViewRefreshAheadHoldDisplacedFailed.)
func TestViewRefreshAheadHoldLaggingReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lv := newLagView(t, false)
		lv.failNewer(t, 56*time.Second, time.Second) // held from 57 s to 58 s

		time.Sleep(100 * time.Millisecond) // 57.1 s
		lv.ls.lag.Store(true)
		require.Equal(t, "page #1", lv.hit(t), "the replica returns the older entry, due, fresh for 2.9 s")
		assert.Equal(t, int64(3), lv.runs.Load(), "the older entry, fresh past the hold, was refreshed within it")
		lv.ls.lag.Store(false)

		time.Sleep(100 * time.Millisecond) // 57.2 s
		lv.failing.Store(false)
		lv.warm(t, 1) // page #4: fresh until 58.2 s, due at 57.45 s
		lv.failing.Store(true)
		time.Sleep(300 * time.Millisecond) // 57.5 s: within the hold, fresh past it
		require.Equal(t, "page #4", lv.hit(t))
		assert.Equal(t, int64(5), lv.runs.Load(), "the newer entry, due, was held by the failure before it")
	})
}
