package testutil

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestSuspended: the reading it makes is d later by the wall clock and no
// later by the monotonic clock, as time.Now would read across a suspend.
func TestSuspended(t *testing.T) {
	now := time.Now()
	s := Suspended(t, now, time.Hour)
	assert.Zero(t, s.Sub(now), "the monotonic reading moved")
	assert.Equal(t, time.Hour, s.Round(0).Sub(now.Round(0)), "the wall clock's")
	assert.Equal(t, time.Hour, s.Add(time.Minute).Round(0).Sub(now.Add(time.Minute).Round(0)), "after Add")
}

// endingTB records how a test would end: Fatalf or Skipf, which end the
// goroutine as testing.T's do.
type endingTB struct {
	testing.TB
	fatal, skip string
}

func (e *endingTB) Helper() {}
func (e *endingTB) Fatalf(format string, args ...any) {
	e.fatal = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
func (e *endingTB) Skipf(format string, args ...any) {
	e.skip = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestSuspendedMisuseFails: a reading without a monotonic one, or a
// duration not whole seconds, fails the test with a message, rather than
// panicking the whole test binary.
func TestSuspendedMisuseFails(t *testing.T) {
	now := time.Now()
	for name, call := range map[string]func(testing.TB){
		"no monotonic reading": func(tb testing.TB) { Suspended(tb, now.Round(0), time.Hour) },
		"not whole seconds":    func(tb testing.TB) { Suspended(tb, now, time.Millisecond) },
		"negative":             func(tb testing.TB) { Suspended(tb, now, -time.Second) },
	} {
		e := &endingTB{TB: t}
		done := make(chan struct{})
		go func() { defer close(done); call(e) }()
		<-done
		assert.Contains(t, e.fatal, "testutil.Suspended", name)
		assert.Empty(t, e.skip, name)
	}
}
