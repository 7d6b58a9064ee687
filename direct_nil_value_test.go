package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGetOfNilInterfaceValueIsItsEncoding: a nil interface written by
// SetAs[any] (or stored by a GetOrSet[error] whose load returned nil) read
// back with Get or GetMany gave an empty slice on the in-process store but
// the codec's encoding ("null") on Redis, memcached and every other remote
// store. Get now returns the encoding on every store, as it does for any
// other value SetAs wrote.
func TestGetOfNilInterfaceValueIsItsEncoding(t *testing.T) {
	check := func(t *testing.T, c *Cache) {
		ctx := context.Background()
		want, err := c.codec.Marshal(nil)
		require.NoError(t, err)
		require.NoError(t, SetAs[any](ctx, c, "nothing", nil, time.Minute))
		got, err := c.Get(ctx, "nothing")
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "Get")
		many, err := c.GetMany(ctx, "nothing")
		require.NoError(t, err)
		assert.Equal(t, string(want), string(many["nothing"]), "GetMany")

		_, err = GetOrSet(ctx, c, "valid", time.Minute, func(context.Context) (error, error) { return nil, nil })
		require.NoError(t, err)
		got, err = c.Get(ctx, "valid")
		require.NoError(t, err)
		assert.Equal(t, string(want), string(got), "Get of GetOrSet[error]'s nil")
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		check(t, c)
	})
	t.Run("default", func(t *testing.T) {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		check(t, c)
	})
	t.Run("redis", func(t *testing.T) {
		c, _, _ := onRedis(t)
		check(t, c)
	})
}
