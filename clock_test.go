package caching

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
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

// TestMonotonicClockReanchors: the clock takes a time.Now reading as its
// anchor again every reanchorEvery, so that a system clock set or stepped
// meanwhile is followed; readings across a new anchor never go back.
func TestMonotonicClockReanchors(t *testing.T) {
	defer func(d time.Duration) { reanchorEvery = d }(reanchorEvery)
	reanchorEvery = 5 * time.Millisecond
	c := newMonoClock()
	first := c.anchor.Load()
	prev := c.now()
	assert.Same(t, first, c.anchor.Load(), "no new anchor within reanchorEvery")
	time.Sleep(2 * reanchorEvery)
	now := c.now()
	assert.NotSame(t, first, c.anchor.Load(), "a new anchor past reanchorEvery")
	assert.Equal(t, *c.anchor.Load(), now, "the reading is the new anchor")
	assert.False(t, now.Before(prev), "the clock went back across the new anchor")
	assert.NotEqual(t, now, now.Round(0), "with a monotonic reading")
}
