package testutil

import "testing"

var allocSink *[8]int

// AllocsPerRun drops what lands in some measurements only, as another
// goroutine's allocations do, and keeps what lands in every one, as f's
// own do.
func TestAllocsPerRunKeepsOnlyWhatEveryMeasurementSees(t *testing.T) {
	calls := 0
	stray := func() {
		calls++
		if calls <= 2 { // the first measurement's warm-up and run
			allocSink = new([8]int)
		}
	}
	if n := AllocsPerRun(1, stray); n != 0 {
		t.Errorf("an allocation of one measurement only: %v per run, want 0", n)
	}
	if n := AllocsPerRun(1, func() { allocSink = new([8]int) }); n != 1 {
		t.Errorf("an allocation of every run: %v per run, want 1", n)
	}
}
