package testutil

import (
	"sync"
	"testing"
	"time"
)

// Clock is a clock tests move by hand: pass its Now as a store's or a
// Cache's Clock option and call Advance. It is safe for concurrent use.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a Clock reading 2025-01-01 00:00:00 UTC.
func NewClock() *Clock { return &Clock{now: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// NewMonotonicClock returns a Clock reading time.Now, with its monotonic
// reading, which Advance moves on as the monotonic clock would, and Suspend
// as a suspend of the machine would.
func NewMonotonicClock() *Clock { return &Clock{now: time.Now()} }

// Suspend moves the wall clock forward by d, whole seconds, and not the
// monotonic one, as a suspend of the machine does: for a Clock whose
// readings carry a monotonic reading (NewMonotonicClock). See Suspended,
// which may end tb's test.
func (c *Clock) Suspend(tb testing.TB, d time.Duration) {
	tb.Helper()
	c.mu.Lock()
	defer c.mu.Unlock() // Suspended may end the goroutine
	c.now = Suspended(tb, c.now, d)
}
