package caching

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoArgTagsFailedCallKeepsOthersEntry: a call whose result is not
// stored deletes the ArgTags version key it created, unless another result
// was stored under that key while it ran: a client that keeps one slow
// failing argument in flight (a bogus page of a user) must not make every
// other result of that user a miss, again and again (as the views' path
// keys, see createdKeys).
func TestMemoArgTagsFailedCallKeepsOthersEntry(t *testing.T) {
	for _, refused := range []string{"error", "StoreIf"} {
		t.Run(refused, func(t *testing.T) {
			forEachViewStore(t, func(t *testing.T, k storeKind) {
				e := newViewEnv(t, k)
				ctx := context.Background()
				type Args struct {
					User int
					Page int
				}
				var calls atomic.Int64
				gate := make(chan struct{})
				entered := make(chan struct{}, 1)
				m := Memoize(e.c, "orders", func(_ context.Context, a Args) (string, error) {
					if a.Page < 0 { // a bogus page: slow, and not stored
						entered <- struct{}{}
						<-gate
						if refused == "error" {
							return "", errors.New("no such page")
						}
						return "", nil
					}
					return fmt.Sprint("page ", a.Page, " #", calls.Add(1)), nil
				}, ArgTags(func(a Args) []string { return []string{"user:" + strconv.Itoa(a.User)} }),
					StoreIf(func(r string) bool { return r != "" }))

				misses := 0
				for round := range 5 {
					done := make(chan struct{})
					go func() {
						defer close(done)
						_, _ = m.Get(ctx, Args{User: 42, Page: -1 - round})
					}()
					<-entered // the bogus call created user:42's version and runs
					before := calls.Load()
					_, err := m.Get(ctx, Args{User: 42, Page: 1})
					require.NoError(t, err)
					if calls.Load() != before {
						misses++
					}
					close(gate)
					<-done
					gate = make(chan struct{})
				}
				// Page 1 is computed once, then every Get of it is a hit:
				// nothing invalidated user 42.
				assert.Equal(t, 1, misses, "page 1 of user 42 missed %d times in 5 rounds", misses)
				assert.EqualValues(t, 1, calls.Load(), "page 1 computed once")
				assert.Zero(t, e.c.store.created.n.Load(), "no key left tracked")
			})
		})
	}
}

// TestMemoArgTagsFailedCallDeletesItsKey: a call whose result is not
// stored, alone, still deletes the ArgTags version key it created: a
// client making up arguments leaves no key behind.
func TestMemoArgTagsFailedCallDeletesItsKey(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		m := Memoize(e.c, "orders", func(_ context.Context, user int) (string, error) {
			return "", errors.New("no such user")
		}, ArgTags(func(user int) []string { return []string{"user:" + strconv.Itoa(user)} }))
		_, err := m.Get(ctx, 7)
		require.Error(t, err)
		_, err = e.store.Get(ctx, e.c.tagKeys([]string{"user:7"})[0])
		assert.ErrorIs(t, err, ErrNotFound, "the version key the call created is deleted")
		assert.Zero(t, e.c.store.created.n.Load(), "no key left tracked")
	})
}
