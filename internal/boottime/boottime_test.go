package boottime

import (
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/testutil"
)

// newClock returns a started Clock whose reads check nothing until the
// test makes a check due.
func newClock() *Clock {
	c := new(Clock)
	c.Init()
	atomic.StoreInt64(&c.due, math.MaxInt64)
	return c
}

func offset(c *Clock) time.Duration { return time.Duration(atomic.LoadInt64(&c.offset)) }

// counted returns the suspended time c counted since a check stored the
// skew from, with the offset then at, asserting that it is exactly the
// growth of the skew since: what its checks read, all of it, counted once.
//
// How much the skew grew is the step the test made, plus what the clocks'
// readings make of it: time.Now reads the wall clock and then the
// monotonic one, and a thread descheduled between the two (tens of
// milliseconds on a loaded machine: see TestConcurrentChecksNeverGoBack)
// reads a skew short by as long, as may the reading of c's start. The
// tests compare it with their step within what the package leaves
// uncounted, under Threshold, not within a millisecond, and the offset with
// the readings exactly.
func counted(t *testing.T, c *Clock, from int64, at time.Duration) time.Duration {
	t.Helper()
	grew := time.Duration(c.skew.Load() - from)
	assert.Equal(t, grew, offset(c)-at, "counted other than the skew's growth since %v", time.Duration(from))
	return offset(c) - at
}

// TestCheckCountsSuspend: a wall clock that moved on while the monotonic
// clock did not (a suspend) moves the readings on by as much, at the next
// check: a write's Check, or a read once a check is due.
func TestCheckCountsSuspend(t *testing.T) {
	c := newClock()
	from := c.skew.Load()
	before := c.Now()
	defer StepWallForTest(time.Hour)()
	c.Now()
	assert.Zero(t, offset(c), "counted by a read before a check was due")
	assert.GreaterOrEqual(t, c.Check()-before, int64(time.Hour), "Check: the suspend not counted")
	assert.GreaterOrEqual(t, c.Now()-before, int64(time.Hour), "Now after a Check")
	assert.InDelta(t, float64(time.Hour), float64(counted(t, c, from, 0)), float64(Threshold))

	c = newClock()
	from = c.skew.Load()
	before = c.Now()
	defer StepWallForTest(time.Hour)()
	atomic.StoreInt64(&c.due, 0) // a second of monotonic time has passed since a read checked
	assert.GreaterOrEqual(t, c.Now()-before, int64(time.Hour), "a due read: the suspend not counted")
	assert.Greater(t, atomic.LoadInt64(&c.due), int64(0), "the next check not put off")
	assert.InDelta(t, float64(time.Hour), float64(counted(t, c, from, 0)), float64(Threshold))
	assert.GreaterOrEqual(t, c.FromMono(int64(time.Since(c.Start())))-before, int64(time.Hour), "FromMono after a due read")
}

// TestCheckIgnoresStepBack: a wall clock stepped back adds no time and
// takes none away; time after it counts from where it was stepped to, and
// a later suspend still counts in full.
func TestCheckIgnoresStepBack(t *testing.T) {
	c := newClock()
	before := c.Check()
	defer StepWallForTest(-time.Hour)()
	assert.GreaterOrEqual(t, c.Check(), before, "a reading went back")
	assert.Zero(t, offset(c), "a step back counted as time")
	from := c.skew.Load() // stepped back to
	defer StepWallForTest(2 * time.Hour)()
	c.Check()
	assert.InDelta(t, float64(2*time.Hour), float64(counted(t, c, from, 0)), float64(Threshold), "a suspend after a step back")
}

// TestCheckFrozenAcrossChangeCountsItOnce: a check whose thread froze
// after reading the clocks, across a suspend (or a wall clock stepped
// back) that another check counted meanwhile, counts nothing when it goes
// on: its reading is older than the count. It lowered the skew, taking
// its old reading for a step back, and the next check counted the suspend
// again (or took the step back for a suspend): entries expired early by
// as much.
func TestCheckFrozenAcrossChangeCountsItOnce(t *testing.T) {
	for name, step := range map[string]time.Duration{"suspend": time.Hour, "step back": -time.Hour} {
		t.Run(name, func(t *testing.T) {
			c := newClock()
			_, frozen := c.read() // the frozen check's reading
			defer StepWallForTest(step)()
			last := c.Check() // the check that counts the change
			counted := offset(c)
			goesOn := int64(time.Since(c.Start())) // the frozen check goes on
			assert.GreaterOrEqual(t, goesOn+c.checkAt(frozen), last, "a reading went back")
			assert.Equal(t, counted, offset(c), "the frozen check counted")
			c.Check()
			assert.Equal(t, counted, offset(c), "the next check counted the change again")
		})
	}
}

// TestCheckSeeingCountedSkewReturnsItsOffset: a Check that reads a
// suspend another check is counting, and finds the skew already stored,
// returns the offset with the suspend in it: the offset is added before the
// skew is stored. Stored first, such a Check returned a reading short by the
// suspend: entries served past their TTL by as long. The window is a few
// instructions wide: the test makes many suspends, failing most runs (all
// under -race) with the two writes swapped. A reading may be short of the
// suspends by a preemption inside time.Now (see counted), not by 2*Threshold.
func TestCheckSeeingCountedSkewReturnsItsOffset(t *testing.T) {
	const step = 10 * time.Second
	c := newClock()
	from := c.skew.Load()
	base := testWallShift.Load()
	var shift atomic.Int64 // the suspends made so far, once made
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				seen := shift.Load()
				if now := c.Check(); now < seen-int64(2*Threshold) {
					t.Errorf("a Check after %v suspended read %v", time.Duration(seen), time.Duration(now))
					return
				}
			}
		}()
	}
	const suspends = 200000
	for range suspends {
		StepWallForTest(step)
		shift.Store(testWallShift.Load() - base)
		c.Check()
	}
	close(stop)
	wg.Wait()
	StepWallForTest(-suspends * step) // undo them all
	assert.InDelta(t, float64(suspends*step), float64(counted(t, c, from, 0)), float64(Threshold), "the suspends counted other than once each")
}

// TestCheckIgnoresNoise: a difference under Threshold between the clocks'
// progress counts nothing, and writes nothing, until it adds up to
// Threshold. The steps pass Threshold, or stay under it, by a quarter of
// it: more than the clocks' readings make of a step (see counted).
func TestCheckIgnoresNoise(t *testing.T) {
	c := newClock()
	from := c.skew.Load()
	defer StepWallForTest(Threshold / 2)()
	c.Check()
	assert.Zero(t, offset(c), "half a threshold counted")
	assert.Equal(t, from, c.skew.Load(), "half a threshold written")
	defer StepWallForTest(Threshold/2 + Threshold/4)()
	c.Check()
	got := counted(t, c, from, 0) // the first half too
	assert.InDelta(t, float64(Threshold+Threshold/4), float64(got), float64(Threshold/4), "a threshold in two halves")
	from = c.skew.Load()
	defer StepWallForTest(-Threshold / 2)()
	c.Check()
	assert.Equal(t, got, offset(c), "a small step back")
	assert.Equal(t, from, c.skew.Load(), "a small step back written")
}

// TestUntilCountsSuspend: the time left until a deadline counts a suspend
// (the wall clock moved on, the monotonic clock did not) as time passed,
// and a wall clock stepped back as none.
func TestUntilCountsSuspend(t *testing.T) {
	end := time.Now().Add(time.Hour)
	assert.InDelta(t, float64(time.Hour), float64(Until(end)), float64(time.Minute))
	undo := StepWallForTest(-time.Hour)
	assert.LessOrEqual(t, Until(end), time.Hour, "a wall clock stepped back lengthened it")
	undo()
	defer StepWallForTest(2 * time.Hour)()
	assert.InDelta(t, float64(-time.Hour), float64(Until(end)), float64(time.Minute), "a suspend of two hours not counted")
	assert.Negative(t, Until(end.Round(0)), "an end without a monotonic reading")
}

// TestDueCheckAllocatesNothing: a read that checks the wall clock, once a
// second, allocates nothing, as the hits that make it do not.
func TestDueCheckAllocatesNothing(t *testing.T) {
	c := newClock()
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		atomic.StoreInt64(&c.due, 0)
		c.Now()
	}))
	assert.Zero(t, testing.AllocsPerRun(100, func() { c.Check() }))
}

// TestBeforeIsFromMonoWithNoCheckDue: Before, a hit's inlined test of a
// deadline, is true only where FromMono would read a time before the
// deadline with no check due: at or past the deadline, past it by a
// suspend already counted, or with a check due (a suspend not yet counted,
// which FromMono then counts), it is false, however far the deadline.
func TestBeforeIsFromMonoWithNoCheckDue(t *testing.T) {
	c := newClock()
	mono := int64(time.Since(c.Start()))
	deadline := mono + int64(time.Minute)
	assert.True(t, c.Before(mono, deadline), "a minute before the deadline")
	assert.True(t, c.Before(mono, math.MaxInt64), "no deadline reachable")
	assert.False(t, c.Before(deadline, deadline), "at the deadline")
	assert.False(t, c.Before(deadline+1, deadline), "past the deadline")

	defer StepWallForTest(time.Hour)() // a suspend of an hour
	assert.True(t, c.Before(mono, deadline), "a suspend counted before a check")
	c.Check()
	assert.False(t, c.Before(mono, deadline), "a suspend counted: an hour past the deadline")

	c = newClock()
	atomic.StoreInt64(&c.due, mono) // a second has passed since a read checked
	assert.False(t, c.Before(mono, math.MaxInt64), "a check due")
	assert.True(t, c.Before(mono-1, math.MaxInt64), "just before the check is due")
}

// TestConcurrentChecksNeverGoBack: readings, taken by reads that check
// when due and by Checks, all at once while a suspend is made, never go
// back in any goroutine, and the suspend is counted.
func TestConcurrentChecksNeverGoBack(t *testing.T) {
	c := new(Clock)
	c.Init()
	var wg sync.WaitGroup
	var started sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		started.Add(1)
		go func() {
			defer wg.Done()
			ready := sync.OnceFunc(started.Done)
			defer ready() // a goroutine that failed early holds no one up
			last := int64(math.MinInt64)
			after := -1 // readings taken since the suspend was seen
			for j := 0; after < 200; j++ {
				if j == 100 {
					ready()
				}
				if after >= 0 || testWallShift.Load() != 0 {
					after++
				}
				var now int64
				if (i+j)%2 == 0 {
					atomic.StoreInt64(&c.due, 0)
					now = c.Now()
				} else {
					now = c.Check()
				}
				if now < last {
					t.Errorf("a reading went back by %v", time.Duration(last-now))
					return
				}
				last = now
			}
		}()
	}
	started.Wait() // every goroutine reads the clock
	defer StepWallForTest(time.Hour)()
	wg.Wait()
	// The suspend is counted by the first check that reads it, from its one
	// time.Now, which reads the wall clock and then the monotonic one: a
	// thread descheduled between the two (tens of milliseconds on a loaded
	// machine) reads the skew, and so the suspend, short by as long, and
	// the checks after leave the shortfall as noise under Threshold. So
	// the count is exact within Threshold, not within a millisecond.
	assert.Greater(t, offset(c), time.Hour-Threshold, "the suspend lost")
	assert.GreaterOrEqual(t, c.Check(), int64(time.Hour), "the suspend lost")
}

// TestElapsedCountsSuspend: the time between two readings counts a suspend
// (the wall clock moved on, the monotonic clock did not), not a wall clock
// stepped back, and allocates nothing.
func TestElapsedCountsSuspend(t *testing.T) {
	t0 := time.Now()
	later := t0.Add(time.Minute)
	assert.Equal(t, time.Minute, Elapsed(t0, later))
	assert.Equal(t, time.Hour+time.Minute, Elapsed(t0, testutil.Suspended(t, later, time.Hour)), "a suspend of an hour")
	assert.Equal(t, time.Hour+time.Minute, Elapsed(t0.Round(0), testutil.Suspended(t, later, time.Hour)), "a reading without a monotonic one")
	// A wall clock stepped back an hour: t0 is the reading after it.
	assert.Equal(t, time.Minute, Elapsed(testutil.Suspended(t, t0, time.Hour), later), "a wall clock stepped back shortened it")
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = Elapsed(t0, later) }))
}

// TestElapsedMonotonicIsWallSub: Elapsed's difference of two readings with
// a monotonic one, taken by UnixNano, is the wall clock's by time.Time.Sub,
// for readings of one anchor advanced by Add (as the caching package's
// clock takes them), across a suspend, a step back, and either order.
func TestElapsedMonotonicIsWallSub(t *testing.T) {
	t0 := time.Now()
	for _, d := range []time.Duration{0, time.Nanosecond, time.Minute, -time.Minute, 100 * 365 * 24 * time.Hour} {
		for _, wall := range []time.Duration{0, time.Hour} {
			for _, p := range [][2]time.Time{
				{t0, testutil.Suspended(t, t0.Add(d), wall)}, // a suspend
				{testutil.Suspended(t, t0, wall), t0.Add(d)}, // a step back
			} {
				a, b := p[0], p[1]
				assert.Equal(t, max(b.Sub(a), b.Round(0).Sub(a.Round(0))), Elapsed(a, b), "%v later, wall %v", d, wall)
				assert.Equal(t, max(a.Sub(b), a.Round(0).Sub(b.Round(0))), Elapsed(b, a), "%v earlier, wall %v", d, wall)
			}
		}
	}
}

// TestAgeOfZeroTimeIsVeryOld: the age of a zero time.Time, or of one
// further back than a Duration reaches (a reading never taken, a stored
// time decoded as such), is the longest a Duration says, never negative:
// Since was -Until, whose saturated negative bound overflowed on negation
// to the most negative age, which every "younger than" check trusts.
func TestAgeOfZeroTimeIsVeryOld(t *testing.T) {
	const veryOld = time.Duration(math.MaxInt64)
	far := time.Date(1200, 1, 1, 0, 0, 0, 0, time.UTC)
	for name, at := range map[string]time.Time{"zero": {}, "far past": far} {
		t.Run(name, func(t *testing.T) {
			assert.Equal(t, veryOld, Since(at), "Since")
			assert.Equal(t, veryOld, Elapsed(at, time.Now()), "Elapsed")
			undo := StepWallForTest(time.Hour) // a suspend counted on top
			assert.Equal(t, veryOld, Since(at), "Since after a suspend")
			undo()
			undo = StepWallForTest(-time.Hour) // a wall clock stepped back
			assert.Equal(t, veryOld, Since(at), "Since after a step back")
			undo()
		})
	}
	// A stored time decoded without a monotonic reading: the wall clock's.
	now := time.Now()
	stored := time.Unix(0, now.Add(-time.Minute).UnixNano())
	assert.Equal(t, time.Minute, Elapsed(stored, now.Round(0)))
	assert.Equal(t, time.Minute, Elapsed(stored, now))
}

// BenchmarkElapsed is the age of a response stored a minute ago, both
// readings with a monotonic one (an in-process store's), and without.
func BenchmarkElapsed(b *testing.B) {
	t0 := time.Now()
	now := t0.Add(time.Minute)
	b.Run("monotonic", func(b *testing.B) {
		for b.Loop() {
			_ = Elapsed(t0, now)
		}
	})
	b.Run("wall", func(b *testing.B) {
		t0, now := t0.Round(0), now.Round(0)
		for b.Loop() {
			_ = Elapsed(t0, now)
		}
	})
}

// BenchmarkClock is a Clock's reads: Check (a write's, the clocks agreeing),
// Now with no check due (a hit's), Before (a hit's inlined deadline test),
// and Check from every goroutine at once.
func BenchmarkClock(b *testing.B) {
	c := new(Clock)
	c.Init()
	b.Run("Check", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Check()
		}
	})
	b.Run("Now", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = c.Now()
		}
	})
	b.Run("Before", func(b *testing.B) {
		mono := int64(time.Since(c.Start()))
		for b.Loop() {
			_ = c.Before(mono, math.MaxInt64)
		}
	})
	b.Run("CheckParallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				_ = c.Check()
			}
		})
	})
}
