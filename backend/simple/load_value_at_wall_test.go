package simple_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// TestLoadValueAtWallClockOnlyTime: LoadValueAt compared a time with no
// monotonic clock reading (from time.Unix, Round(0), a decoded time) by
// the wall clock, so that a wall clock stepped back served an entry the
// store's own monotonic clock had expired, and one stepped forward
// expired a live entry. Such a time is no reading of time.Now: the store
// reads its own clock for it, as for a zero now. (In a synctest bubble,
// whose fake clock the store follows, time.Now has no monotonic reading
// either: the store's own reading is as good.)
func TestLoadValueAtWallClockOnlyTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := simple.New(simple.Options{SweepInterval: -1})
		require.NoError(t, err)
		defer s.Close()
		for _, k := range []string{"expired", "expired bytes"} {
			require.NoError(t, s.StoreValue(k, "v", 1, time.Minute))
		}
		time.Sleep(2 * time.Minute)
		for _, k := range []string{"live", "live unix"} {
			require.NoError(t, s.StoreValue(k, "v", 1, time.Hour))
		}

		back := time.Now().Add(-time.Hour).Round(0) // a wall clock stepped back an hour
		_, ok := s.LoadValueAt("expired", back)
		assert.False(t, ok, "an expired entry served to a wall-clock time stepped back an hour")
		_, ok = s.LoadValueBytesAt([]byte("expired bytes"), back)
		assert.False(t, ok, "LoadValueBytesAt: an expired entry served to a wall-clock time stepped back")
		_, ok = s.LoadValueAt("live", time.Now().Add(2*time.Hour).Round(0))
		assert.True(t, ok, "a live entry missed at a wall-clock time stepped forward two hours")
		_, ok = s.LoadValueAt("live unix", time.Unix(time.Now().Unix()+7200, 0))
		assert.True(t, ok, "a live entry missed at a time.Unix time two hours ahead")
	})
}
