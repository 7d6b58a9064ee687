package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestViewRefreshAheadHoldDisplacedPutBack: in a SharedCache view, the
// refresh of an older entry (read by a request just before a newer one was
// stored) that a hold let through, the older entry being near its end,
// took the hold's place, found the newer entry stored (replacedSince), ran
// nothing, and deleted the hold: the next hit of the newer entry, whose
// refresh had failed, ran the failing origin again within the hold. The
// hold it displaced is put back, and still ends when it would have.
func TestViewRefreshAheadHoldDisplacedPutBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		hv := newHoldView(t, 4)
		require.Equal(t, "page #1", get(hv.h, "/p").Body.String()) // fresh until 60 s
		time.Sleep(59200 * time.Millisecond)                       // 59.2 s: due, fresh for 0.8 s more
		var asked atomic.Int32
		refreshAskedHook = func(string) {
			if asked.Add(1) != 1 {
				return // the newer entry's refresh, below
			}
			// Between the request's read of page #1 and its refresh: a
			// newer response is stored, and its own refresh, once due,
			// fails.
			hv.short.Store(true)
			rep := hv.c.Warm(context.Background(), hv.h, WarmTarget{URL: "http://example.com/p"})
			require.Equal(t, 1, rep.Stored) // page #2, dated 59 s: fresh until 63 s, due at 60.15 s
			time.Sleep(1100 * time.Millisecond)
			hv.failing.Store(true)
			require.Equal(t, "page #2", get(hv.h, "/p").Body.String()) // 60.3 s
			synctest.Wait()
			require.Equal(t, int64(3), hv.runs.Load(), "the newer entry's refresh ran, and failed: held until 61.25 s")
		}
		defer func() { refreshAskedHook = nil }()
		// The older entry's refresh: it would expire (at 60 s) within the
		// hold, which lets it through, and it finds the newer entry stored.
		require.Equal(t, "page #1", get(hv.h, "/p").Body.String())
		synctest.Wait()
		refreshAskedHook = nil
		require.EqualValues(t, 2, asked.Load())
		require.Equal(t, int64(3), hv.runs.Load(), "the older entry's refresh ran nothing")

		time.Sleep(100 * time.Millisecond) // 60.4 s: within the hold
		require.Equal(t, "page #2", get(hv.h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(3), hv.runs.Load(), "the failing origin ran again within the hold")

		time.Sleep(time.Second) // 61.4 s: the hold is over
		require.Equal(t, "page #2", get(hv.h, "/p").Body.String())
		synctest.Wait()
		assert.Equal(t, int64(4), hv.runs.Load(), "the hold put back did not end")
	})
}
