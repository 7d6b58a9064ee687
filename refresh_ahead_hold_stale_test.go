package caching

import (
	"fmt"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewRefreshAheadHoldStaleFailed: a stale entry's refresh (an older
// entry, past its freshness, read from a lagging replica within
// StaleWhileRevalidate) took the place of the hold of a newer entry's
// failed refresh, as a stale entry's refresh does, ran, and failed. It
// dropped the hold: the newer entry's next hit, within its hold, ran the
// failing origin again. The refresh keeps the hold it took the place of
// until its end, and not past it.
func TestViewRefreshAheadHoldStaleFailed(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				lv := newLagView(t, shared, StaleWhileRevalidate(30*time.Second))
				lv.swr.Store(30)
				lv.failNewer(t, 58*time.Second, 1200*time.Millisecond) // held from 59.2 s to 60.2 s

				time.Sleep(900 * time.Millisecond) // 60.1 s
				lv.ls.lag.Store(true)
				require.Equal(t, "page #1", lv.hit(t), "the replica returns the older entry, stale for 0.1 s")
				require.Equal(t, int64(4), lv.runs.Load(), "the stale entry's refresh took the hold's place, ran, and failed")
				lv.ls.lag.Store(false)

				time.Sleep(50 * time.Millisecond) // 60.15 s: within the newer entry's hold
				require.Equal(t, "page #2", lv.hit(t))
				assert.Equal(t, int64(4), lv.runs.Load(), "the failing origin ran again for the newer entry within its hold")

				time.Sleep(100 * time.Millisecond) // 60.25 s: the hold is over
				require.Equal(t, "page #2", lv.hit(t))
				assert.Equal(t, int64(5), lv.runs.Load(), "the newer entry's hold outlived its end")
			})
		})
	}
}

// TestMemoizeRefreshAheadHoldStaleFailed is
// TestViewRefreshAheadHoldStaleFailed for a memoized function.
func TestMemoizeRefreshAheadHoldStaleFailed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		lm := newLagMemo(t, StaleWhileRevalidate(30*time.Second))
		lm.failNewer(t) // held from 59.2 s to 60.2 s

		time.Sleep(900 * time.Millisecond) // 60.1 s
		lm.ls.lag.Store(true)
		require.Equal(t, "long #1", lm.hit(t), "the replica returns the older entry, stale for 0.1 s")
		require.Equal(t, int64(4), lm.runs.Load(), "the stale entry's refresh took the hold's place, ran, and failed")
		lm.ls.lag.Store(false)

		time.Sleep(50 * time.Millisecond) // 60.15 s: within the newer entry's hold
		require.Equal(t, "short #2", lm.hit(t))
		assert.Equal(t, int64(4), lm.runs.Load(), "the failing function ran again for the newer entry within its hold")

		time.Sleep(100 * time.Millisecond) // 60.25 s: the hold is over
		require.Equal(t, "short #2", lm.hit(t))
		assert.Equal(t, int64(5), lm.runs.Load(), "the newer entry's hold outlived its end")
	})
}
