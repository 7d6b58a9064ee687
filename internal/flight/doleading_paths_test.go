package flight_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/flight"
)

// TestDoLeadingCallsOnLeadOncePerLeader: DoLeading calls onLead exactly
// once for each caller that starts the work, whatever the work then does
// (panics, calls runtime.Goexit, outlives its caller), never for a caller
// whose context ended before it came (it starts nothing), and once more
// for the caller that starts new work where the call in flight was
// forgotten, or cancelled by the last caller's leaving past MaxDetached.
func TestDoLeadingCallsOnLeadOncePerLeader(t *testing.T) {
	t.Run("work panics or calls Goexit", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			for _, fn := range []func(context.Context) (int, error){
				func(context.Context) (int, error) { panic("boom") },
				func(context.Context) (int, error) { runtime.Goexit(); return 0, nil },
			} {
				var leads atomic.Int32
				done := make(chan struct{})
				go func() {
					defer close(done)
					defer func() { _ = recover() }()
					_, _, _ = g.DoLeading(t.Context(), "k", fn, func() { leads.Add(1) })
				}()
				<-done
				assert.EqualValues(t, 1, leads.Load())
			}
		})
	})
	t.Run("context ended before", func(t *testing.T) {
		var g flight.Group[string, int]
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		var leads atomic.Int32
		_, _, err := g.DoLeading(ctx, "k", func(context.Context) (int, error) { return 1, nil }, func() { leads.Add(1) })
		require.ErrorIs(t, err, context.Canceled)
		assert.Zero(t, leads.Load(), "a caller that starts nothing does not lead")
	})
	t.Run("forgotten or cancelled call", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			var g flight.Group[string, int]
			release := make(chan struct{})
			hold := func(ctx context.Context) (int, error) {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return 1, nil
			}
			// MaxDetached calls of other keys run on with no caller.
			for i := range flight.MaxDetached {
				ctx, cancel := context.WithCancel(t.Context())
				go func() { _, _, _ = g.Do(ctx, string(rune('a'+i%26))+string(rune('a'+i/26)), hold) }()
				synctest.Wait()
				cancel()
				synctest.Wait()
			}
			var leads atomic.Int32
			onLead := func() { leads.Add(1) }
			// The last caller of "k" leaves: past MaxDetached, its call is
			// cancelled and forgotten; the next caller leads a new one.
			ctx, cancel := context.WithCancel(t.Context())
			go func() { _, _, _ = g.DoLeading(ctx, "k", hold, onLead) }()
			synctest.Wait()
			cancel()
			synctest.Wait()
			require.EqualValues(t, 1, leads.Load())
			results := make(chan result, 3)
			do := func() {
				go func() {
					v, joined, err := g.DoLeading(t.Context(), "k", hold, onLead)
					results <- result{v, joined, err}
				}()
				synctest.Wait()
			}
			do()
			require.EqualValues(t, 2, leads.Load(), "a new call after the cancelled one")
			do()
			require.EqualValues(t, 2, leads.Load(), "a joiner does not lead")
			g.Forget("k")
			do()
			require.EqualValues(t, 3, leads.Load(), "a new call after Forget")
			close(release)
			for range 3 {
				r := <-results
				require.NoError(t, r.err)
			}
		})
	})
}
