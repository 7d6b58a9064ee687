package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoRefreshAfterUpdateIsFresh: a job that updates the data and then
// calls Refresh gets, and leaves stored, a result computed with the update,
// not that of a Get's computation in flight that read the data before it:
// Refresh neither joins it nor lets it store its result afterwards.
func TestMemoRefreshAfterUpdateIsFresh(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			e := newViewEnv(t, k)
			ctx := context.Background()
			var price atomic.Int64
			price.Store(100)
			gate := make(chan struct{})
			entered := make(chan struct{}, 1)
			var slow atomic.Bool
			slow.Store(true)
			m := Memoize(e.c, "price", func(_ context.Context, id int) (string, error) {
				p := price.Load()
				if slow.CompareAndSwap(true, false) {
					entered <- struct{}{}
					<-gate
				}
				return fmt.Sprint(id, ":", p), nil
			})
			got := make(chan string)
			go func() {
				v, _ := m.Get(ctx, 1)
				got <- v
			}()
			<-entered // a Get read the old price
			price.Store(120)
			refreshed := make(chan string, 1)
			go func() {
				v, _ := m.Refresh(ctx, 1) // the job, after the update
				refreshed <- v
			}()
			synctest.Wait() // the Refresh returned, or waits for the Get's computation
			close(gate)
			assert.Equal(t, "1:100", <-got, "the Get made before the update gets what it computed")
			assert.Equal(t, "1:120", <-refreshed, "Refresh after the update computes with it")
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "1:120", v, "and stores it")
		})
	})
}

// TestMemoGetAfterRefreshJoinsIt: a Get made while a Refresh computes
// joins it: fn runs once.
func TestMemoGetAfterRefreshJoinsIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		ctx := context.Background()
		var calls atomic.Int64
		gate := make(chan struct{})
		m := Memoize(c, "price", func(_ context.Context, id int) (string, error) {
			n := calls.Add(1)
			<-gate
			return fmt.Sprint(id, " #", n), nil
		})
		refreshed := make(chan string, 1)
		go func() {
			v, _ := m.Refresh(ctx, 1)
			refreshed <- v
		}()
		synctest.Wait() // Refresh computes
		got := make(chan string, 1)
		go func() {
			v, _ := m.Get(ctx, 1)
			got <- v
		}()
		synctest.Wait() // the Get joined
		close(gate)
		assert.Equal(t, "1 #1", <-refreshed)
		assert.Equal(t, "1 #1", <-got)
		assert.EqualValues(t, 1, calls.Load())
	})
}
