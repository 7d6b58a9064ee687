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
