package ratelimit

import (
	"sync"
	"testing"
	"time"
)

func TestBurstThenRate(t *testing.T) {
	l := New(time.Second, 3)
	now := time.Unix(1000, 0)
	allowed := 0
	for range 10 {
		if ok, _ := l.Allow(now); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("a burst of 10 at one instant let %d through, want 3", allowed)
	}
	ok, suppressed := l.Allow(now.Add(time.Second / 3))
	if !ok || suppressed != 7 {
		t.Fatalf("after one refill period: ok=%v suppressed=%d, want true and 7", ok, suppressed)
	}
	if ok, _ := l.Allow(now.Add(time.Second / 3)); ok {
		t.Fatal("a second event in the same period went through")
	}
	// A long quiet time refills the burst, not more.
	allowed = 0
	for range 10 {
		if ok, _ := l.Allow(now.Add(time.Hour)); ok {
			allowed++
		}
	}
	if allowed != 3 {
		t.Fatalf("after an hour %d went through, want the burst of 3", allowed)
	}
}

func TestClockGoingBackwards(t *testing.T) {
	l := New(time.Second, 1)
	now := time.Unix(1000, 0)
	l.Allow(now)
	if ok, _ := l.Allow(now.Add(-time.Hour)); ok {
		t.Fatal("a clock going backwards refilled the bucket")
	}
}

func TestConcurrent(t *testing.T) {
	l := New(time.Hour, 5)
	now := time.Unix(1000, 0)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, _ := l.Allow(now); ok {
				mu.Lock()
				allowed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("%d of 50 concurrent events went through, want 5", allowed)
	}
}

// TestIntervalShorterThanBurst: an interval under burst nanoseconds (a slow
// log's 5ns interval with the default burst of 10, or a huge burst meant as
// "barely limit") made the refill 0 per token, read as "never refilled":
// after the first burst nothing went through again, however long after.
func TestIntervalShorterThanBurst(t *testing.T) {
	now := time.Unix(1000, 0)
	for _, c := range []struct {
		interval time.Duration
		burst    int
	}{{5 * time.Nanosecond, 10}, {time.Second, 2_000_000_000}} {
		l := New(c.interval, c.burst)
		l.tokens = 0 // the burst is spent
		l.last = now
		if ok, _ := l.Allow(now.Add(time.Hour)); !ok {
			t.Errorf("New(%v, %d): nothing allowed an hour after the burst", c.interval, c.burst)
		}
	}
}
