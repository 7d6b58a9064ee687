package flight_test

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/go-caching/caching/internal/flight"
)

// TestDoBoundedTakesOverOverdueCall: the callers that join a call wait
// for it until it has run for age, then one of them leads a new call of
// the key (onTake, once), which the others and the callers that come
// since join; the overdue call goes on for its own caller.
func TestDoBoundedTakesOverOverdueCall(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g flight.Group[string, int]
		stuck := make(chan struct{})
		var runs, takes atomic.Int32
		work := func(context.Context) (int, error) {
			n := int(runs.Add(1))
			if n == 1 {
				<-stuck
			}
			return n, nil
		}
		onTake := func(key string) {
			assert.Equal(t, "k", key)
			takes.Add(1)
		}
		type res struct {
			v            int
			joined, took bool
		}
		results := make(chan res, 3)
		do := func() {
			v, joined, took, err := g.DoBounded(t.Context(), "k", work, nil, 5*time.Second, onTake)
			assert.NoError(t, err)
			results <- res{v, joined, took}
		}
		go do() // the leader, stuck
		synctest.Wait()
		go do()
		time.Sleep(2 * time.Second)
		go do()
		time.Sleep(3*time.Second - time.Millisecond)
		synctest.Wait()
		assert.Empty(t, results, "within age, the joiners wait")
		time.Sleep(time.Millisecond)
		synctest.Wait()
		var got []res
		for range 2 {
			got = append(got, <-results)
		}
		assert.ElementsMatch(t, []res{{2, false, true}, {2, true, false}}, got)
		assert.EqualValues(t, 2, runs.Load())
		assert.EqualValues(t, 1, takes.Load())
		close(stuck)
		assert.Equal(t, res{1, false, false}, <-results, "the overdue call's own caller gets its result")

		// A call that ends within age is not taken over: its joiners get
		// its result.
		release := make(chan struct{})
		go func() {
			_, _, _ = g.Do(t.Context(), "j", func(context.Context) (int, error) { <-release; return 7, nil })
		}()
		synctest.Wait()
		go func() {
			time.Sleep(5*time.Second - time.Millisecond)
			close(release)
		}()
		v, joined, took, err := g.DoBounded(t.Context(), "j", work, nil, 5*time.Second, onTake)
		assert.NoError(t, err)
		assert.True(t, joined)
		assert.False(t, took)
		assert.Equal(t, 7, v)
		assert.EqualValues(t, 1, takes.Load())
	})
}
