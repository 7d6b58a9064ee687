package near_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/boottime"
)

// TestSuspendDuringAReadKeepsNothing: with the default clock a token's
// time was read on the monotonic clock, which stops while the machine is
// suspended, so that a value read before hours asleep was kept MaxStale
// more after the resume. The suspend now counts: the read began more than
// MaxStale ago, and nothing is kept.
func TestSuspendDuringAReadKeepsNothing(t *testing.T) {
	s := openNear(t, simple.Must(simple.Options{}), near.Options{MaxStale: time.Minute})
	tok := s.NearToken()
	defer boottime.StepWallForTest(time.Hour)()
	keep(s, "k", "V1", tok)
	assert.False(t, held(s, "k"), "kept a value read an hour ago, across a suspend")
}

// TestSuspendExpiresWhatIsKept: a value kept before a suspend longer than
// MaxStale is not served after it, once the store has read the wall clock
// (here at the next keep; else within a second of the resume).
func TestSuspendExpiresWhatIsKept(t *testing.T) {
	s := openNear(t, simple.Must(simple.Options{}), near.Options{MaxStale: time.Minute})
	keep(s, "k", "V1", s.NearToken())
	assert.True(t, held(s, "k"))
	defer boottime.StepWallForTest(time.Hour)()
	keep(s, "other", "V", s.NearToken()) // refused if the token was taken before the Store counted the suspend
	keep(s, "other", "V", s.NearToken())
	assert.True(t, held(s, "other"), "a value read after the resume not kept")
	assert.False(t, held(s, "k"), "served a value kept an hour ago, across a suspend, MaxStale a minute")
}
