package testutil

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSuspended: the reading it makes is d later by the wall clock and no
// later by the monotonic clock, as time.Now would read across a suspend.
func TestSuspended(t *testing.T) {
	now := time.Now()
	s := Suspended(now, time.Hour)
	assert.Zero(t, s.Sub(now), "the monotonic reading moved")
	assert.Equal(t, time.Hour, s.Round(0).Sub(now.Round(0)), "the wall clock's")
	assert.Equal(t, time.Hour, s.Add(time.Minute).Round(0).Sub(now.Add(time.Minute).Round(0)), "after Add")
	assert.Panics(t, func() { Suspended(now.Round(0), time.Hour) }, "no monotonic reading")
}
