package caching

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// userTags is the ArgTags of the tests' functions of a user id.
func userTags(user int) []string { return []string{"user:" + strconv.Itoa(user)} }

// TestArgTagsInvalidateOneArgument: ArgTags tags each result by its
// argument, so that InvalidateTags drops one user's results of every
// function, and no other user's.
func TestArgTagsInvalidateOneArgument(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		var calls atomic.Int64
		fn := func(_ context.Context, user int) (string, error) {
			return fmt.Sprint("user ", user, " #", calls.Add(1)), nil
		}
		orders := Memoize(e.c, "orders", fn, ArgTags(userTags))
		totals := Memoize(e.c, "totals", fn, ArgTags(userTags), Tags("sales"))
		get := func(m *Memoized[int, string], user int) string {
			v, err := m.Get(ctx, user)
			require.NoError(t, err)
			return v
		}
		o1, o2, t1 := get(orders, 1), get(orders, 2), get(totals, 1)
		assert.Equal(t, o1, get(orders, 1), "a hit")
		require.NoError(t, e.c.InvalidateTags(ctx, "user:1"))
		assert.NotEqual(t, o1, get(orders, 1), "user 1's result of orders is dropped")
		assert.NotEqual(t, t1, get(totals, 1), "and of totals")
		assert.Equal(t, o2, get(orders, 2), "user 2's is not")
		t1 = get(totals, 1)
		require.NoError(t, e.c.InvalidateTags(ctx, "sales"))
		assert.NotEqual(t, t1, get(totals, 1), "the function's own tags still apply")
	})
}

// TestArgTagsReachComputationsOfOtherProcesses: Forget stops a computation
// running in its own process only; a result another process was computing
// when it was called is stored and served afterwards. InvalidateTags on an
// ArgTags tag reaches it: the versions are read before the computation, so
// its result is written under the old one, and is a miss. Two Caches on
// one remote store are the two processes.
func TestArgTagsReachComputationsOfOtherProcesses(t *testing.T) {
	for _, tc := range []struct {
		name       string
		invalidate func(ctx context.Context, c *Cache, m *Memoized[int, string]) error
		stale      bool
	}{
		{"Forget", func(ctx context.Context, _ *Cache, m *Memoized[int, string]) error { return m.Forget(ctx, 9) }, true},
		{"ArgTags", func(ctx context.Context, c *Cache, _ *Memoized[int, string]) error {
			return c.InvalidateTags(ctx, "user:9")
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			shared := newSimple(t, nil)
			open := func() *Cache {
				c := Must(&Options{Backend: &remote{Backend: shared}})
				t.Cleanup(func() { _ = c.Close() })
				return c
			}
			a, b := open(), open()
			ctx := context.Background()
			var sales atomic.Int64 // the database
			started, release := make(chan struct{}), make(chan struct{})
			stats := func(gate bool) func(context.Context, int) (string, error) {
				return func(context.Context, int) (string, error) {
					read := sales.Load() // the query's snapshot
					if gate {
						close(started)
						<-release
					}
					return fmt.Sprint(read, " sales"), nil
				}
			}
			ma := Memoize(a, "stats", stats(true), ArgTags(userTags))
			mb := Memoize(b, "stats", stats(false), ArgTags(userTags))
			done := make(chan string)
			go func() {
				v, err := ma.Get(ctx, 9)
				assert.NoError(t, err)
				done <- v
			}()
			<-started
			sales.Add(1) // process b records a sale, then invalidates
			require.NoError(t, tc.invalidate(ctx, b, mb))
			close(release)
			assert.Equal(t, "0 sales", <-done, "a's caller gets what it read")
			v, err := mb.Get(ctx, 9)
			require.NoError(t, err)
			if tc.stale {
				assert.Equal(t, "0 sales", v, "Forget does not reach another process's computation: the reason for ArgTags")
				return
			}
			assert.Equal(t, "1 sales", v, "the result computed before the invalidation is not served")
		})
	}
}

// TestArgTagsKeysExpireOnRedis: tags made of arguments, which a client may
// choose (a user id in a URL), create version keys that expire, as a
// path's do, and a call whose result is not stored deletes the key it
// created.
func TestArgTagsKeysExpireOnRedis(t *testing.T) {
	ctx := context.Background()
	c, b, prefix := onRedis(t)
	const life = time.Minute
	m := Memoize(c, "stats", func(_ context.Context, user int) (int, error) { return user % 2, nil },
		ArgTags(userTags), TTL(life), StoreIf(func(n int) bool { return n == 1 }))
	for user := range 10 {
		_, err := m.Get(ctx, user)
		require.NoError(t, err)
	}
	keys, err := b.Client().Keys(ctx, prefix+"t/*").Result()
	require.NoError(t, err)
	require.Len(t, keys, 5, "a version per user whose result is stored; the others' are deleted again")
	for _, k := range keys {
		ttl, err := b.Client().PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, ttl > 0 && ttl <= 4*life, "%s: ttl %v; want at most %v", k, ttl, 4*life)
	}
	v, err := m.Get(ctx, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, v)
	assert.EqualValues(t, 1, c.MemoStats()["stats"].Hits, "a stored result is a hit")
}

// TestArgTagsChecksItsType: ArgTags of another argument type is an invalid
// option, found when Memoize is called.
func TestArgTagsChecksItsType(t *testing.T) {
	c := Must(&Options{Backend: newSimple(t, nil)})
	defer c.Close()
	defer func() {
		err, _ := recover().(error)
		require.ErrorIs(t, err, ErrInvalidOption)
		assert.Contains(t, err.Error(), "ArgTags")
	}()
	Memoize(c, "f", func(context.Context, int) (int, error) { return 0, nil }, ArgTags(func(string) []string { return nil }))
}

// TestArgTagsUnstoredLeaveNoKeys: a call whose result is not stored
// (StoreIf, an error) deletes the ArgTags version key it created: a client
// asking for one made-up user after another would otherwise leave a key
// each, and on the in-process store push out the entries worth keeping.
func TestArgTagsUnstoredLeaveNoKeys(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		m := Memoize(e.c, "stats", func(_ context.Context, user int) (int, error) {
			if user < 0 {
				return 0, fmt.Errorf("no user %d", user)
			}
			return user % 2, nil
		}, ArgTags(userTags), StoreIf(func(n int) bool { return n == 1 }))
		_, err := m.Get(ctx, 1)
		require.NoError(t, err)
		base := entries(t, e.store)
		for user := 2; user < 200; user += 2 {
			_, err := m.Get(ctx, user)
			require.NoError(t, err)
			_, err = m.Get(ctx, -user)
			require.Error(t, err)
		}
		assert.Equal(t, base, entries(t, e.store), "results not stored leave no key")
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)
		require.EqualValues(t, 1, e.c.MemoStats()["stats"].Hits, "the stored one is kept")
		require.NoError(t, e.c.InvalidateTags(ctx, "user:1"))
		_, err = m.Get(ctx, 1)
		require.NoError(t, err)
		assert.EqualValues(t, 1, e.c.MemoStats()["stats"].Hits, "and still answers to its tag")
	})
}

// TestArgTagsUnencodableLeavesNoKey: a result the codec cannot encode (a
// NaN for JSON) is not stored on a remote store, and its call deletes the
// ArgTags key it created, as for a result StoreIf refuses.
func TestArgTagsUnencodableLeavesNoKey(t *testing.T) {
	e := newViewEnv(t, viewStores[1])
	require.Nil(t, e.c.store.local, "the remote path")
	m := Memoize(e.c, "ratio", func(context.Context, int) (float64, error) { return math.NaN(), nil }, ArgTags(userTags))
	for user := range 20 {
		v, err := m.Get(context.Background(), user)
		require.NoError(t, err)
		assert.True(t, math.IsNaN(v))
	}
	assert.EqualValues(t, 1, entries(t, e.store), "no key left but the function's generation")
}

// TestArgTagsKeepResultTTL: ResultTTL may give a result a longer life than
// the function's TTL (an access token's expiry). The ArgTags version keys
// are read before fn runs, when that life is not known: made for the
// function's TTL, they ended the result at four times it, and fn ran again
// long before the life ResultTTL gave.
func TestArgTagsKeepResultTTL(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		var calls atomic.Int64
		m := Memoize(e.c, "token", func(_ context.Context, user int) (int64, error) { return calls.Add(1), nil },
			TTL(time.Minute), ArgTags(userTags), ResultTTL(func(int64) time.Duration { return time.Hour }))
		_, err := m.Get(ctx, 1)
		require.NoError(t, err)
		e.clock.Advance(30 * time.Minute)
		v, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.EqualValues(t, 1, v, "within the hour ResultTTL gave: a hit")
	})
}
