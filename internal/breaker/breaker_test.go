package breaker_test

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/breaker"
	"github.com/go-caching/caching/internal/testutil"
)

const cooldown = 10 * time.Second

// The kinds of call the tests tell apart.
const (
	read breaker.Kind = iota
	write
)

// recorder records the changes OnChange reports.
type recorder struct {
	mu      sync.Mutex
	changes []string
}

func (r *recorder) onChange(from, to breaker.State) {
	r.mu.Lock()
	r.changes = append(r.changes, from.String()+">"+to.String())
	r.mu.Unlock()
}

func (r *recorder) take() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.changes
	r.changes = nil
	return c
}

func newBreaker(t *testing.T, threshold int) (*breaker.Breaker, *testutil.Clock, *recorder) {
	t.Helper()
	clk := testutil.NewClock()
	rec := &recorder{}
	b, err := breaker.New(breaker.Options{Threshold: threshold, Cooldown: cooldown, Clock: clk.Now, OnChange: rec.onChange})
	require.NoError(t, err)
	return b, clk, rec
}

// trip opens b with threshold failures.
func trip(b *breaker.Breaker, threshold int) {
	for range threshold {
		b.Allow()
		b.Failure(read)
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []breaker.Options{{Threshold: -1}, {Cooldown: -time.Second}} {
		_, err := breaker.New(o)
		require.Error(t, err)
		assert.True(t, strings.HasPrefix(err.Error(), "breaker: Options."), err.Error())
	}
	assert.Panics(t, func() { breaker.Must(breaker.Options{Threshold: -1}) })
	// Defaults: DefaultThreshold failures open it.
	b := breaker.Must(breaker.Options{})
	trip(b, breaker.DefaultThreshold-1)
	assert.Equal(t, breaker.Closed, b.State())
	b.Failure(read)
	assert.Equal(t, breaker.Open, b.State())
}

func TestStateString(t *testing.T) {
	assert.Equal(t, "closed", breaker.Closed.String())
	assert.Equal(t, "open", breaker.Open.String())
	assert.Equal(t, "half-open", breaker.HalfOpen.String())
	assert.Equal(t, "breaker.State(9)", breaker.State(9).String())
}

func TestConsecutiveFailuresOpenIt(t *testing.T) {
	b, _, rec := newBreaker(t, 3)
	trip(b, 2)
	b.Success(read) // resets the count
	trip(b, 2)
	assert.Equal(t, breaker.Closed, b.State(), "2 in a row, under the threshold")
	assert.True(t, b.Allow())
	b.Failure(read)
	assert.Equal(t, breaker.Open, b.State())
	for range 5 {
		assert.False(t, b.Allow(), "open: every call refused")
	}
	assert.Equal(t, []string{"closed>open"}, rec.take())
}

func TestCooldownThenExactlyOneProbe(t *testing.T) {
	b, clk, rec := newBreaker(t, 1)
	trip(b, 1)
	clk.Advance(cooldown - time.Nanosecond)
	assert.False(t, b.Allow(), "still cooling down")
	clk.Advance(time.Nanosecond)
	assert.True(t, b.Allow(), "the probe")
	assert.Equal(t, breaker.HalfOpen, b.State())
	assert.False(t, b.Allow(), "one probe at a time")
	assert.False(t, b.Allow())
	b.Success(read)
	assert.Equal(t, breaker.Closed, b.State())
	assert.True(t, b.Allow())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, rec.take())
}

func TestProbeFailureReopensForAnotherCooldown(t *testing.T) {
	b, clk, rec := newBreaker(t, 2)
	trip(b, 2)
	clk.Advance(cooldown)
	require.True(t, b.Allow())
	clk.Advance(time.Second)
	b.Failure(read)
	assert.Equal(t, breaker.Open, b.State())
	clk.Advance(cooldown - time.Nanosecond)
	assert.False(t, b.Allow(), "a whole cool-down from the probe's failure")
	clk.Advance(time.Nanosecond)
	assert.True(t, b.Allow())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>open", "open>half-open"}, rec.take())
}

// A probe whose caller panicked (or forgot to report) must not leave the
// breaker refusing every call for ever.
func TestProbeThatNeverReportsDoesNotWedgeIt(t *testing.T) {
	b, clk, rec := newBreaker(t, 1)
	trip(b, 1)
	clk.Advance(cooldown)
	require.True(t, b.Allow()) // the probe, never reported
	clk.Advance(cooldown - time.Nanosecond)
	assert.False(t, b.Allow(), "the probe's lease runs for a cool-down")
	clk.Advance(time.Nanosecond)
	assert.True(t, b.Allow(), "a new probe")
	assert.False(t, b.Allow())
	b.Success(read)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, rec.take(),
		"a new probe is no change of state")
}

// A probe that says nothing of the dependency (Release) hands its turn back:
// the next call probes at once, not a Cooldown later, and exactly one.
func TestReleasedProbeLetsTheNextCallProbeAtOnce(t *testing.T) {
	b, clk, rec := newBreaker(t, 1)
	b.Release() // closed: nothing to release
	assert.True(t, b.Allow())
	trip(b, 1)
	b.Release() // open: the cool-down stands
	assert.False(t, b.Allow(), "Release does not end the cool-down")
	clk.Advance(cooldown)
	require.True(t, b.Allow(), "the probe")
	assert.False(t, b.Allow())
	b.Release()
	assert.Equal(t, breaker.HalfOpen, b.State())
	assert.True(t, b.Allow(), "the next call probes at once")
	assert.False(t, b.Allow(), "one probe at a time")
	b.Success(read)
	assert.Equal(t, breaker.Closed, b.State())
	assert.Equal(t, []string{"closed>open", "open>half-open", "half-open>closed"}, rec.take())
}

// Reports from calls let through before the breaker opened are ignored.
func TestReportsWhileOpenAreIgnored(t *testing.T) {
	b, clk, _ := newBreaker(t, 1)
	trip(b, 1)
	b.Success(read)
	assert.Equal(t, breaker.Open, b.State(), "a late success does not close it")
	clk.Advance(cooldown / 2)
	b.Failure(read)
	clk.Advance(cooldown / 2)
	assert.True(t, b.Allow(), "a late failure does not extend the cool-down")
}

func TestOnChangeMayCallTheBreaker(t *testing.T) {
	var b *breaker.Breaker
	var seen []breaker.State
	b = breaker.Must(breaker.Options{Threshold: 1, OnChange: func(from, to breaker.State) {
		seen = append(seen, b.State())
		b.Allow()
	}})
	b.Failure(read)
	assert.Equal(t, []breaker.State{breaker.Open}, seen)
}

// A panic in OnChange reaches the caller that ran it and leaves the breaker
// working, with the next changes still reported.
func TestOnChangePanicDoesNotWedgeIt(t *testing.T) {
	clk := testutil.NewClock()
	rec := &recorder{}
	first := true
	b := breaker.Must(breaker.Options{Threshold: 1, Cooldown: cooldown, Clock: clk.Now, OnChange: func(from, to breaker.State) {
		if first {
			first = false
			panic("first")
		}
		rec.onChange(from, to)
	}})
	assert.PanicsWithValue(t, "first", func() { b.Failure(read) })
	assert.Equal(t, breaker.Open, b.State())
	clk.Advance(cooldown)
	assert.True(t, b.Allow())
	b.Success(read)
	assert.Equal(t, []string{"open>half-open", "half-open>closed"}, rec.take())
}

// Many goroutines at the end of a cool-down: exactly one probe goes through,
// and every change is reported once, in order.
func TestOnlyOneProbeUnderConcurrency(t *testing.T) {
	const goroutines = 64
	b, clk, rec := newBreaker(t, 3)
	for round := range 20 {
		trip(b, 3)
		clk.Advance(cooldown)
		var allowed atomic.Int32
		var start, done sync.WaitGroup
		start.Add(1)
		for range goroutines {
			done.Add(1)
			go func() {
				defer done.Done()
				start.Wait()
				if b.Allow() {
					allowed.Add(1)
				}
			}()
		}
		start.Done()
		done.Wait()
		require.Equal(t, int32(1), allowed.Load(), "round %d", round)
		if round%2 == 0 {
			b.Success(read)
		} else {
			b.Failure(read)
			clk.Advance(cooldown)
			require.True(t, b.Allow())
			b.Success(read)
		}
		require.Equal(t, breaker.Closed, b.State())
	}
	changes := rec.take()
	assert.Len(t, changes, 20*3+10*2)
	assertChain(t, changes)
}

// Success and Failure storms from many goroutines while the clock moves:
// OnChange sees a chain of changes, each from the state the previous one
// went to.
func TestConcurrentReportsGiveAChainOfChanges(t *testing.T) {
	b, clk, rec := newBreaker(t, 2)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				if b.Allow() {
					if (g+i)%3 == 0 {
						b.Success(read)
					} else {
						b.Failure(read)
					}
				}
				if i%50 == 0 {
					clk.Advance(cooldown)
				}
			}
		}()
	}
	wg.Wait()
	changes := rec.take()
	require.NotEmpty(t, changes)
	assertChain(t, changes)
	last := changes[len(changes)-1]
	assert.Equal(t, b.State().String(), last[strings.Index(last, ">")+1:])
}

func assertChain(t *testing.T, changes []string) {
	t.Helper()
	state := "closed"
	for i, c := range changes {
		from, to, _ := strings.Cut(c, ">")
		require.Equal(t, state, from, "change %d (%s) of %v", i, c, changes)
		require.NotEqual(t, from, to)
		state = to
	}
}

func TestClosedHotPathDoesNotAllocate(t *testing.T) {
	b := breaker.Must(breaker.Options{})
	assert.Zero(t, testing.AllocsPerRun(1000, func() {
		if b.Allow() {
			b.Success(read)
		}
	}))
}

// BenchmarkClosed measures Allow and Success on a closed breaker with no
// recent failure, the path every backend call takes, against references
// measured in the same run: a plain atomic load (what it should cost), and
// an atomic add (what one write per call would cost under contention).
func BenchmarkClosed(b *testing.B) {
	br := breaker.Must(breaker.Options{})
	var word atomic.Uint32
	var counter atomic.Int64
	impls := []struct {
		name string
		call func()
	}{
		{"breaker", func() {
			if br.Allow() {
				br.Success(read)
			}
		}},
		{"ref=atomic-load", func() {
			if word.Load() == 0 {
				_ = word.Load()
			}
		}},
		{"ref=atomic-add", func() { counter.Add(1) }},
	}
	for _, impl := range impls {
		b.Run(fmt.Sprintf("impl=%s", impl.name), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				impl.call()
			}
		})
		b.Run(fmt.Sprintf("impl=%s/parallel", impl.name), func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					impl.call()
				}
			})
		})
	}
}
