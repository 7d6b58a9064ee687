package caching

import (
	"testing"
	"time"
)

// TestMonotonicClock: the in-process clock follows time.Now, never goes
// back, and carries a monotonic reading (so that the store's expiry and Age
// are durations of the monotonic clock).
func TestMonotonicClock(t *testing.T) {
	clock := monotonicClock()
	prev := clock()
	for range 1000 {
		now := clock()
		if now.Before(prev) {
			t.Fatalf("the clock went back: %v after %v", now, prev)
		}
		prev = now
	}
	if d := time.Since(prev); d < 0 || d > time.Second {
		t.Errorf("the clock is %v away from time.Now", d)
	}
	if prev == prev.Round(0) {
		t.Error("a reading without a monotonic reading")
	}
}
