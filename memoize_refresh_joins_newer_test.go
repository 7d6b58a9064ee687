package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestMemoRefreshIfGetAfterUpdateIsFresh: a Get that RefreshIf forces,
// made after an update, gets and leaves stored a result computed with the
// update, not that of a Get's computation in flight that read the data
// before it: it neither joins it nor lets it store its result afterwards.
func TestMemoRefreshIfGetAfterUpdateIsFresh(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		synctest.Test(t, func(t *testing.T) {
			e := newViewEnv(t, k)
			ctx := context.Background()
			var price atomic.Int64
			price.Store(100)
			gate := make(chan struct{})
			entered := make(chan struct{}, 1)
			var slow, forced atomic.Bool
			slow.Store(true)
			m := Memoize(e.c, "price", func(_ context.Context, id int) (string, error) {
				p := price.Load()
				if slow.CompareAndSwap(true, false) {
					entered <- struct{}{}
					<-gate
				}
				return fmt.Sprint(id, ":", p), nil
			}, RefreshIf(func(context.Context, int) bool { return forced.Load() }))
			got := make(chan string)
			go func() {
				v, _ := m.Get(ctx, 1)
				got <- v
			}()
			<-entered // a Get read the old price
			price.Store(120)
			forced.Store(true)
			refreshed := make(chan string, 1)
			go func() {
				v, _ := m.Get(ctx, 1) // forced, after the update
				refreshed <- v
			}()
			synctest.Wait() // the forced Get returned, or waits for the older computation
			forced.Store(false)
			close(gate)
			assert.Equal(t, "1:100", <-got, "the Get made before the update gets what it computed")
			assert.Equal(t, "1:120", <-refreshed, "the forced Get after the update computes with it")
			v, err := m.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, "1:120", v, "and its result stays stored")
		})
	})
}

// TestMemoGetAfterRefreshIfJoinsIt: a Get made while a Get that RefreshIf
// forces computes joins it: fn runs once.
func TestMemoGetAfterRefreshIfJoinsIt(t *testing.T) {
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
		}, RefreshIf(func(ctx context.Context, _ int) bool { return ctx.Value(ctxKey{}) != nil }))
		refreshed := make(chan string, 1)
		go func() {
			v, _ := m.Get(context.WithValue(ctx, ctxKey{}, true), 1)
			refreshed <- v
		}()
		synctest.Wait() // the forced Get computes
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

// TestMemoStaleRefreshStoresNothingOlderThanTheEntry: a background refresh
// of a stale entry (StaleWhileRevalidate) does not join a computation in
// flight that began before the entry was stored (here by another process
// sharing the backend, with the data updated in between): that one's
// result is older than the entry, and is neither what the refresh stores
// nor stored after it.
func TestMemoStaleRefreshStoresNothingOlderThanTheEntry(t *testing.T) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := testutil.NewClock()
				c1, shared := k.open(t, nil, clock, Options{})
				defer c1.Close()
				c2, _ := k.open(t, shared, clock, Options{})
				defer c2.Close()
				ctx := context.Background()
				var price, calls atomic.Int64
				price.Store(100)
				gate := make(chan struct{})
				entered := make(chan struct{}, 1)
				var slow atomic.Bool
				slow.Store(true)
				fn := func(_ context.Context, id int) (string, error) {
					calls.Add(1)
					p := price.Load()
					if slow.CompareAndSwap(true, false) {
						entered <- struct{}{}
						<-gate
					}
					return fmt.Sprint(id, ":", p), nil
				}
				m1 := Memoize(c1, "price", fn, TTL(time.Minute), StaleWhileRevalidate(time.Hour))
				m2 := Memoize(c2, "price", fn, TTL(time.Minute), StaleWhileRevalidate(time.Hour))

				got := make(chan string)
				go func() {
					v, _ := m1.Get(ctx, 1)
					got <- v
				}()
				<-entered // process 1 read the old price
				clock.Advance(time.Second)
				price.Store(120)
				v, err := m2.Get(ctx, 1) // process 2 stores the new one
				require.NoError(t, err)
				require.Equal(t, "1:120", v)

				clock.Advance(2 * time.Minute) // stale
				price.Store(130)
				v, err = m1.Get(ctx, 1) // served stale; starts a refresh
				require.NoError(t, err)
				assert.Equal(t, "1:120", v)
				synctest.Wait() // the refresh ran, or waits for the older computation
				assert.EqualValues(t, 3, calls.Load(), "the refresh called fn")
				close(gate)
				assert.Equal(t, "1:100", <-got, "the Get made before gets what it computed")
				synctest.Wait()
				for _, m := range []*Memoized[int, string]{m1, m2} {
					v, err = m.Get(ctx, 1)
					require.NoError(t, err)
					assert.Equal(t, "1:130", v, "the refresh's result is stored, not the older one")
				}
			})
		})
	}
}

// TestMemoRefreshAheadJoinsNewerComputation: a refresh ahead joins a
// computation in flight that began after the entry it replaces was
// stored (a Refresh's): its result is newer than the entry, and fn runs
// once.
func TestMemoRefreshAheadJoinsNewerComputation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newViewEnv(t, viewStores[0])
		ctx := context.Background()
		var calls atomic.Int64
		var hold atomic.Bool
		gate := make(chan struct{})
		m := Memoize(e.c, "ahead", func(_ context.Context, id int) (string, error) {
			n := calls.Add(1)
			if hold.Load() {
				<-gate
			}
			return fmt.Sprint(id, " #", n), nil
		}, TTL(time.Minute), RefreshAhead(30*time.Second))
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "1 #1", v)
		e.clock.Advance(10 * time.Second)
		hold.Store(true)
		refreshed := make(chan string, 1)
		go func() {
			v, _ := m.Refresh(ctx, 1)
			refreshed <- v
		}()
		synctest.Wait() // the Refresh computes
		e.clock.Advance(25 * time.Second)
		v, err = m.Get(ctx, 1) // a hit within RefreshAhead: starts a refresh
		require.NoError(t, err)
		assert.Equal(t, "1 #1", v)
		synctest.Wait() // the refresh joined the Refresh
		assert.EqualValues(t, 2, calls.Load())
		close(gate)
		assert.Equal(t, "1 #2", <-refreshed)
		synctest.Wait()
		v, err = m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "1 #2", v)
		assert.EqualValues(t, 2, calls.Load(), "fn ran once for the Refresh and the refresh ahead")
		assert.EqualValues(t, 1, e.c.Stats().AheadRefreshes)
	})
}
