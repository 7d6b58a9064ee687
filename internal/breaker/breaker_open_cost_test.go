package breaker

import (
	"testing"
	"time"
)

// TestOpenAllowTakesNoLock: while the breaker was open, every Allow took
// the mutex twice (to read the state, then to pass changes to OnChange)
// and read the clock, so that every request of a service whose backend
// was down queued on one lock. Allow now refuses without it: with the
// mutex held elsewhere, it still answers.
func TestOpenAllowTakesNoLock(t *testing.T) {
	b := Must(Options{Threshold: 1, Cooldown: time.Hour, OnChange: func(from, to State) {}})
	b.Failure(0)
	b.mu.Lock()
	defer b.mu.Unlock()
	done := make(chan bool)
	go func() { done <- b.Allow() }()
	select {
	case allowed := <-done:
		if allowed {
			t.Fatal("an open breaker allowed a call during its cool-down")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Allow on an open breaker waited for the mutex")
	}
}

// BenchmarkAllow measures Allow on an open breaker (what every call costs
// while the backend is down) against a closed one and against a read of the
// clock (what the open breaker's Allow adds to two atomic loads), in the
// same run, in parallel: the open breaker must not serialise its callers.
func BenchmarkAllow(b *testing.B) {
	b.Run("ref=clock", func(b *testing.B) {
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = time.Now()
			}
		})
	})
	for _, open := range []bool{false, true} {
		name := "state=closed"
		if open {
			name = "state=open"
		}
		b.Run(name, func(b *testing.B) {
			br := Must(Options{Threshold: 1, Cooldown: time.Hour, OnChange: func(from, to State) {}})
			if open {
				br.Failure(0)
			}
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if br.Allow() == open {
						b.Fatal("Allow did not answer as the state says")
					}
				}
			})
		})
	}
}
