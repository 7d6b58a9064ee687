package near_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// A wall clock stepped back while a remote read runs (an NTP step, a
// virtual machine resumed) must not lengthen the life of what the read
// returned: on a remote store without news (memcached) MaxStale is the whole
// staleness bound, and a value kept for the hour the clock went back would
// be served, stale, for that hour.
func TestClockSteppedBackDuringAReadKeepsTheValueAtMostMaxStale(t *testing.T) {
	clock := testutil.NewClock()
	s := openNear(t, simple.Must(simple.Options{Clock: clock.Now}), near.Options{Clock: clock.Now, MaxStale: time.Second})

	clock.Advance(2 * time.Hour) // memory's clock never reads before its start
	tok := s.NearToken()
	clock.Advance(-time.Hour) // the clock is stepped back during the read
	keep(s, "k", "V1", tok)
	assert.True(t, held(s, "k"))
	clock.Advance(time.Second)
	assert.False(t, held(s, "k"), "served a value kept more than MaxStale ago")
}

// TestTokenTimeIsMonotonicByDefault: a token's time was the wall clock's
// Unix nanoseconds, so a wall clock stepped back while a remote read ran
// made the read's own duration (up to the Cache's Options.Timeout) count
// as no time, and what it returned was kept MaxStale after the read ended
// rather than after it began. With the default clock it is now the time
// since the Store was made, read on the monotonic clock, which no wall
// step moves. (Go makes no time.Time whose wall and monotonic readings
// disagree, so the step itself cannot be staged: this checks the reading
// the fix rests on.)
func TestTokenTimeIsMonotonicByDefault(t *testing.T) {
	before := time.Now()
	s := openNear(t, simple.Must(simple.Options{}), near.Options{})
	tok := s.NearToken()
	assert.GreaterOrEqual(t, tok.At, int64(0))
	assert.LessOrEqual(t, tok.At, int64(time.Since(before)), "the time since the Store was made, not the wall clock's")
}
