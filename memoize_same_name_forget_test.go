package caching

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoSameFunctionTwiceForget: one function memoized twice under one
// name (two packages memoize one loader) shares its entries, and so
// Forget's promise: a computation of the other Memoized running when
// m1.Forget is called is not stored, and a Get of either made after
// Forget returned does not get its result.
func TestMemoSameFunctionTwiceForget(t *testing.T) {
	for _, op := range []string{"Forget", "ForgetAll", "Set", "Refresh"} {
		t.Run(op, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				ctx := context.Background()
				var db atomic.Value
				db.Store("alice@old.example")
				gate := make(chan struct{})
				entered := make(chan struct{}, 1)
				var slow atomic.Bool
				slow.Store(true)
				load := func(_ context.Context, id int) (string, error) {
					v := db.Load().(string) // read before the update
					if slow.CompareAndSwap(true, false) {
						entered <- struct{}{}
						<-gate
					}
					return fmt.Sprint(id, ":", v), nil
				}
				m1 := Memoize(e.c, "user-email", load)
				m2 := Memoize(e.c, "user-email", load)

				done := make(chan struct{})
				go func() {
					defer close(done)
					_, _ = m2.Get(ctx, 7)
				}()
				<-entered // m2's computation read the old address
				db.Store("alice@new.example")
				switch op { // the update path, through m1
				case "Forget":
					require.NoError(t, m1.Forget(ctx, 7))
				case "ForgetAll":
					require.NoError(t, m1.ForgetAll(ctx))
				case "Set":
					require.NoError(t, m1.Set(ctx, 7, "7:alice@new.example"))
				case "Refresh":
					v, err := m1.Refresh(ctx, 7)
					require.NoError(t, err)
					require.Equal(t, "7:alice@new.example", v)
				}
				// A Get through m2 after the update does not join m2's
				// computation in flight (it would wait for the gate).
				wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
				v, err := m2.Get(wctx, 7)
				cancel()
				require.NoError(t, err, "m2's Get joined the computation from before the update")
				assert.Equal(t, "7:alice@new.example", v)
				close(gate)
				<-done
				v, err = m1.Get(ctx, 7)
				require.NoError(t, err)
				assert.Equal(t, "7:alice@new.example", v, "a Get after the update does not get a result computed before it")
			})
		})
	}
}

// label is a result type of string's shape: its entries are string's.
type label string

// TestMemoSameNameOtherResultType: two functions of other result types
// under one name, whose keys are alike (one shape), share the name's
// Forget but never hand one type's result to the other's callers.
func TestMemoSameNameOtherResultType(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		var db atomic.Value
		db.Store("old")
		gate := make(chan struct{})
		entered := make(chan struct{}, 1)
		var slow atomic.Bool
		slow.Store(true)
		m1 := Memoize(e.c, "name", func(_ context.Context, id int) (string, error) {
			return fmt.Sprint(id, ":", db.Load()), nil
		})
		m2 := Memoize(e.c, "name", func(_ context.Context, id int) (label, error) {
			v := db.Load().(string)
			if slow.CompareAndSwap(true, false) {
				entered <- struct{}{}
				<-gate
			}
			return label(fmt.Sprint(id, ":", v)), nil
		})
		k1, err := m1.Key(7)
		require.NoError(t, err)
		k2, err := m2.Key(7)
		require.NoError(t, err)
		require.Equal(t, k1, k2, "setup: the two share an entry")

		done := make(chan label)
		go func() {
			v, _ := m2.Get(ctx, 7)
			done <- v
		}()
		<-entered
		db.Store("new")
		require.NoError(t, m1.Forget(ctx, 7))
		v, err := m1.Get(ctx, 7) // not m2's computation: another type
		require.NoError(t, err)
		assert.Equal(t, "7:new", v)
		close(gate)
		assert.Equal(t, label("7:old"), <-done, "m2's caller gets the result it waited for")
		v2, err := m2.Get(ctx, 7)
		require.NoError(t, err)
		assert.Equal(t, label("7:new"), v2, "m2's old result was not stored after Forget")
	})
}
