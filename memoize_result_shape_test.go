package caching_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// sharedStores are remote stores that several Caches share, as the
// processes of two releases share one Redis during a rolling deploy: open
// returns a new Cache on the store each time it is called.
var sharedStores = []struct {
	name string
	open func(t *testing.T) (open func() *caching.Cache)
}{
	{"remote", func(t *testing.T) func() *caching.Cache {
		shared := newRemoteStore()
		return func() *caching.Cache { return newCache(t, shared) }
	}},
	{"redis", func(t *testing.T) func() *caching.Cache {
		addr := testutil.RedisAddr(t)
		prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
		return func() *caching.Cache {
			b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
			require.NoError(t, err)
			c := newCache(t, b)
			t.Cleanup(func() { _ = c.Clear(context.Background()) })
			return c
		}
	}},
}

func inSharedStores(t *testing.T, f func(t *testing.T, open func() *caching.Cache)) {
	for _, st := range sharedStores {
		t.Run(st.name, func(t *testing.T) { f(t, st.open(t)) })
	}
}

// A new release renamed a field of a memoized function's result type
// (Price, in euros, became PriceCents) without changing Version. The old
// release's entries, still in the shared store during the rolling deploy,
// decode without an error into the new type (JSON ignores unknown fields
// and leaves missing ones zero): they must be misses, not hits with
// PriceCents 0.
func TestMemoizeResultTypeChangedIsRecomputed(t *testing.T) {
	inSharedStores(t, func(t *testing.T, open func() *caching.Cache) {
		ctx := t.Context()
		func() { // the old release
			type Price struct{ Price int }
			old := caching.Memoize(open(), "price", func(context.Context, string) (Price, error) {
				return Price{Price: 12}, nil
			})
			_, err := old.Get(ctx, "sku-1")
			require.NoError(t, err)
		}()
		type Price struct{ PriceCents int } // the new one: same name, other fields
		var calls atomic.Int64
		neu := caching.Memoize(open(), "price", func(context.Context, string) (Price, error) {
			calls.Add(1)
			return Price{PriceCents: 1200}, nil
		})
		got, err := neu.Get(ctx, "sku-1")
		require.NoError(t, err)
		assert.Equal(t, Price{PriceCents: 1200}, got, "a result the new function would not have returned")
		assert.Equal(t, int64(1), calls.Load(), "an entry of another shape is recomputed")
		got, err = neu.Get(ctx, "sku-1")
		require.NoError(t, err)
		assert.Equal(t, Price{PriceCents: 1200}, got)
		assert.Equal(t, int64(1), calls.Load(), "and the new entry is a hit")

		// A change of a field's type or tag is a change of shape too.
		type Tagged struct {
			Price int `json:"p"`
		}
		_, err = caching.Memoize(open(), "price", func(context.Context, string) (Tagged, error) {
			calls.Add(1)
			return Tagged{Price: 7}, nil
		}).Get(ctx, "sku-1")
		require.NoError(t, err)
		assert.Equal(t, int64(2), calls.Load(), "a new tag is another shape")
	})
}

// What a result type is called, and where it is declared, is not its
// shape: a release that only renames the type (or moves it) keeps serving
// the entries of the one before, and so does every process of one release.
func TestMemoizeResultOfTheSameShapeIsAHit(t *testing.T) {
	inSharedStores(t, func(t *testing.T, open func() *caching.Cache) {
		ctx := t.Context()
		type Offer struct {
			Price int
			Tags  []string `json:"tags"`
			Next  *Offer
		}
		first := caching.Memoize(open(), "offer", func(context.Context, string) (Offer, error) {
			return Offer{Price: 12, Tags: []string{"new"}}, nil
		})
		_, err := first.Get(ctx, "sku-1")
		require.NoError(t, err)

		type Deal struct { // renamed
			Price int
			Tags  []string `json:"tags"`
			Next  *Deal
		}
		var calls atomic.Int64
		renamed := caching.Memoize(open(), "offer", func(context.Context, string) (Deal, error) {
			calls.Add(1)
			return Deal{}, nil
		})
		got, err := renamed.Get(ctx, "sku-1")
		require.NoError(t, err)
		assert.Equal(t, Deal{Price: 12, Tags: []string{"new"}}, got)
		assert.Zero(t, calls.Load(), "the same shape under another name is a hit")
		require.NoError(t, first.ForgetAll(ctx))
		_, err = renamed.Get(ctx, "sku-1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), calls.Load(), "ForgetAll reaches every shape's entries")
	})
}
