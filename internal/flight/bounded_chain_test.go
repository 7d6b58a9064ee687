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

// TestDoBoundedChainOfStuckCalls: a taker whose own call hangs too is
// taken over in turn, one bound after it began, by a caller still
// waiting (the chain of calls followed through next), once per bound:
// the work runs once per bound, never once per waiter, and Forget or
// ForgetAll in between (with a call of the key made and ended since)
// changes none of that. Every caller ends with a result; none is left
// waiting.
func TestDoBoundedChainOfStuckCalls(t *testing.T) {
	for _, forget := range []string{"none", "Forget", "ForgetAll"} {
		t.Run(forget, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var g flight.Group[string, int]
				const age = 5 * time.Second
				stuck := make(chan struct{})
				var runs, takes atomic.Int32
				work := func(context.Context) (int, error) {
					n := int(runs.Add(1))
					if n <= 2 {
						<-stuck // the first call and its first taker's hang
					}
					return n, nil
				}
				onTake := func(string) { takes.Add(1) }
				results := make(chan int, 8)
				do := func() {
					v, _, _, err := g.DoBounded(t.Context(), "k", work, nil, age, onTake)
					assert.NoError(t, err)
					results <- v
				}
				go do() // the leader, stuck
				synctest.Wait()
				for range 4 {
					go do()
				}
				time.Sleep(age)
				synctest.Wait()
				assert.EqualValues(t, 2, runs.Load(), "one taker, once")
				assert.EqualValues(t, 1, takes.Load())
				assert.Equal(t, 4, g.Waiters("k"), "the taker and the three others wait for the taker's call")
				switch forget {
				case "Forget":
					g.Forget("k")
				case "ForgetAll":
					g.ForgetAll()
				}
				if forget != "none" {
					go do() // starts the key's call anew: run 3, which ends at once
					assert.Equal(t, 3, <-results)
				}
				time.Sleep(age) // the taker's call is overdue too
				synctest.Wait()
				want := 3 // the second taker's run
				if forget != "none" {
					want = 4 // run 3 ended: a waiter takes over with a run of its own
				}
				assert.EqualValues(t, want, runs.Load(), "taken over once more, once")
				assert.EqualValues(t, 2, takes.Load())
				for range 3 {
					assert.Equal(t, want, <-results, "the waiters get the second taker's result")
				}
				assert.Empty(t, results, "the stuck calls' own callers still wait")
				close(stuck)
				got := []int{<-results, <-results}
				assert.ElementsMatch(t, []int{1, 2}, got, "each stuck call's own caller gets its result")
				synctest.Wait()
				assert.False(t, g.InFlight("k"))
			})
		})
	}
}
