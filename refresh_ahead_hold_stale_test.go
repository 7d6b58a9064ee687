package caching

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
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
		ls := newReplicaStore(t)
		c := Must(&Options{Backend: ls})
		t.Cleanup(func() { c.Close() })
		var runs atomic.Int64
		var failing, short atomic.Bool
		m := Memoize(c, "lagstale", func(context.Context, int) (string, error) {
			n := runs.Add(1)
			switch {
			case failing.Load():
				return "", errors.New("down")
			case short.Load():
				return fmt.Sprintf("short #%d", n), nil
			}
			return fmt.Sprintf("long #%d", n), nil
		}, TTL(time.Hour), RefreshAhead(4*time.Second), StaleWhileRevalidate(30*time.Second), ResultTTL(func(r string) time.Duration {
			if r[0] == 's' {
				return 4 * time.Second
			}
			return time.Minute
		}))
		hit := func() string {
			v, err := m.Get(context.Background(), 1)
			require.NoError(t, err)
			synctest.Wait()
			return v
		}
		require.Equal(t, "long #1", hit()) // fresh until 60 s
		time.Sleep(58 * time.Second)
		short.Store(true)
		v, err := m.Refresh(context.Background(), 1)
		require.NoError(t, err)
		require.Equal(t, "short #2", v)     // fresh until 62 s, due at 59 s
		time.Sleep(1200 * time.Millisecond) // 59.2 s
		failing.Store(true)
		require.Equal(t, "short #2", hit())
		require.Equal(t, int64(3), runs.Load(), "the newer entry's refresh ran, and failed: held until 60.2 s")

		time.Sleep(900 * time.Millisecond) // 60.1 s
		ls.lag.Store(true)
		require.Equal(t, "long #1", hit(), "the replica returns the older entry, stale for 0.1 s")
		require.Equal(t, int64(4), runs.Load(), "the stale entry's refresh took the hold's place, ran, and failed")
		ls.lag.Store(false)

		time.Sleep(50 * time.Millisecond) // 60.15 s: within the newer entry's hold
		require.Equal(t, "short #2", hit())
		assert.Equal(t, int64(4), runs.Load(), "the failing function ran again for the newer entry within its hold")

		time.Sleep(100 * time.Millisecond) // 60.25 s: the hold is over
		require.Equal(t, "short #2", hit())
		assert.Equal(t, int64(5), runs.Load(), "the newer entry's hold outlived its end")
	})
}
