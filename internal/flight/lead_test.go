package flight_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// gated is work that returns v once release is closed, and records
// whether its context was cancelled first.
func gated(v int, release <-chan struct{}, cancelled *atomic.Bool) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		select {
		case <-release:
			return v, nil
		case <-ctx.Done():
			cancelled.Store(true)
			return 0, ctx.Err()
		}
	}
}

// result is what one caller got.
type result struct {
	v      int
	joined bool
	err    error
}

// TestLeadStartsNewWork: Lead joins no call in flight: it runs its own
// work and returns that work's result, while the call it takes the place
// of goes on, uncancelled, for its own callers, who get its result.
func TestLeadStartsNewWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		oldRelease, newRelease := make(chan struct{}), make(chan struct{})
		var oldCancelled, newCancelled atomic.Bool
		old := make(chan result, 1)
		go func() {
			v, joined, err := g.Do(t.Context(), "k", gated(1, oldRelease, &oldCancelled))
			old <- result{v, joined, err}
		}()
		synctest.Wait()
		require.True(t, g.InFlight("k"))

		lead := make(chan result, 1)
		go func() {
			v, err := g.Lead(t.Context(), "k", gated(2, newRelease, &newCancelled))
			lead <- result{v, false, err}
		}()
		synctest.Wait()
		select {
		case r := <-lead:
			t.Fatalf("Lead returned %+v before its own work finished: it joined the call in flight", r)
		default:
		}

		close(oldRelease)
		synctest.Wait()
		assert.Equal(t, result{1, false, nil}, <-old, "the replaced call's caller gets its result")
		assert.False(t, oldCancelled.Load(), "the replaced call goes on")
		select {
		case r := <-lead:
			t.Fatalf("Lead returned %+v with the replaced call's result", r)
		default:
		}

		close(newRelease)
		synctest.Wait()
		assert.Equal(t, result{2, false, nil}, <-lead, "Lead gets its own work's result")
		assert.False(t, newCancelled.Load())
	})
}

// TestLeadIsJoinedByLaterCalls: the calls for key that come after Lead,
// also once the call it replaced has finished, join Lead's work: their
// own work does not run and they get Lead's result.
func TestLeadIsJoinedByLaterCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		oldRelease, newRelease := make(chan struct{}), make(chan struct{})
		var cancelled atomic.Bool
		go func() { _, _, _ = g.Do(t.Context(), "k", gated(1, oldRelease, &cancelled)) }()
		synctest.Wait()
		lead := make(chan result, 1)
		go func() {
			v, err := g.Lead(t.Context(), "k", gated(2, newRelease, &cancelled))
			lead <- result{v, false, err}
		}()
		synctest.Wait()

		var ran atomic.Bool
		later := func(context.Context) (int, error) { ran.Store(true); return 3, nil }
		before := make(chan result, 1)
		go func() {
			v, joined, err := g.Do(t.Context(), "k", later)
			before <- result{v, joined, err}
		}()
		synctest.Wait()

		close(oldRelease) // the replaced call finishes: Lead's stays the key's
		synctest.Wait()
		assert.True(t, g.InFlight("k"), "Lead's call is still in flight")
		after := make(chan result, 1)
		go func() {
			v, joined, err := g.Do(t.Context(), "k", later)
			after <- result{v, joined, err}
		}()
		synctest.Wait()
		assert.Equal(t, 3, g.Waiters("k"), "Lead and the two later callers")

		close(newRelease)
		synctest.Wait()
		assert.Equal(t, result{2, false, nil}, <-lead)
		assert.Equal(t, result{2, true, nil}, <-before, "joined Lead's work")
		assert.Equal(t, result{2, true, nil}, <-after, "joined Lead's work after the replaced call ended")
		assert.False(t, ran.Load(), "the later callers' work did not run")
		assert.False(t, cancelled.Load())
		assert.False(t, g.InFlight("k"))
	})
}

// TestLeadIsDoForItsCaller: Lead is Do for its caller: a context already
// done starts no work; one done while the work runs returns ctx.Err() at
// once, and the work goes on for the callers that joined it.
func TestLeadIsDoForItsCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var ran atomic.Bool
		_, err := g.Lead(ctx, "k", func(context.Context) (int, error) { ran.Store(true); return 1, nil })
		synctest.Wait()
		assert.ErrorIs(t, err, context.Canceled)
		assert.False(t, ran.Load(), "no work started for a caller already gone")
		assert.False(t, g.InFlight("k"))

		ctx, cancel = context.WithCancel(t.Context())
		release := make(chan struct{})
		var cancelled atomic.Bool
		lead := make(chan error, 1)
		go func() {
			_, err := g.Lead(ctx, "k", gated(2, release, &cancelled))
			lead <- err
		}()
		synctest.Wait()
		joined := make(chan result, 1)
		go func() {
			v, j, err := g.Do(t.Context(), "k", gated(3, release, &cancelled))
			joined <- result{v, j, err}
		}()
		synctest.Wait()
		cancel()
		synctest.Wait()
		select {
		case err := <-lead:
			assert.True(t, errors.Is(err, context.Canceled), "%v", err)
		default:
			t.Fatal("Lead's caller waited for the work after its context ended")
		}
		close(release)
		synctest.Wait()
		assert.Equal(t, result{2, true, nil}, <-joined, "the work went on for the caller that joined it")
		assert.False(t, cancelled.Load())
	})
}

// TestDoLeadingCallsOnLeadForTheLeaderOnly: DoLeading calls onLead for
// the caller that starts the work, before fn runs, and never for a caller
// that joins it.
func TestDoLeadingCallsOnLeadForTheLeaderOnly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		var ran, leads atomic.Int32
		release := make(chan struct{})
		fn := func(context.Context) (int, error) {
			ran.Add(1)
			<-release
			return 1, nil
		}
		results := make(chan result, 2)
		go func() {
			v, joined, err := g.DoLeading(t.Context(), "k", fn, func() {
				leads.Add(1)
				assert.Zero(t, ran.Load(), "onLead is called before fn runs")
			})
			results <- result{v, joined, err}
		}()
		synctest.Wait()
		require.EqualValues(t, 1, leads.Load())
		go func() {
			v, joined, err := g.DoLeading(t.Context(), "k", fn, func() { leads.Add(1) })
			results <- result{v, joined, err}
		}()
		synctest.Wait()
		close(release)
		joined := 0
		for range 2 {
			r := <-results
			require.NoError(t, r.err)
			assert.Equal(t, 1, r.v)
			if r.joined {
				joined++
			}
		}
		assert.Equal(t, 1, joined, "the second caller joins")
		assert.EqualValues(t, 1, leads.Load(), "onLead is called for the leader only")
		assert.EqualValues(t, 1, ran.Load())
	})
}
