package caching

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteManyCounts: DeleteMany says how many keys it removed (Flask's
// delete_many answer), on every store: with the backend's own count, and
// with the fallback of a store that has none (remote).
func TestDeleteManyCounts(t *testing.T) {
	everyBackend(t, Options{}, func(t *testing.T, c *Cache) {
		ctx := t.Context()
		require.NoError(t, c.Set(ctx, "a", []byte("x"), time.Hour))
		require.NoError(t, c.Set(ctx, "n", []byte("42"), time.Hour)) // a bare integer
		require.NoError(t, SetAs(ctx, c, "t", []string{"v"}, time.Hour, Tags("t1")))
		require.NoError(t, c.Set(ctx, "keep", []byte("x"), time.Hour))

		n, err := c.DeleteMany(ctx, "a", "n", "t", "missing", "a")
		require.NoError(t, err)
		assert.Equal(t, 3, n, "a, n and t were there; a given twice counts once")
		for _, k := range []string{"a", "n", "t"} {
			_, err := c.Get(ctx, k)
			assert.ErrorIs(t, err, ErrNotFound, k)
		}
		_, err = c.Get(ctx, "keep")
		require.NoError(t, err)

		n, err = c.DeleteMany(ctx, "a", "n")
		require.NoError(t, err)
		assert.Zero(t, n)
		n, err = c.DeleteMany(ctx)
		require.NoError(t, err)
		assert.Zero(t, n)
	})
}

// TestDeleteManyClosed: a closed Cache answers with ErrClosed.
func TestDeleteManyClosed(t *testing.T) {
	c := Must(nil)
	require.NoError(t, c.Close())
	_, err := c.DeleteMany(t.Context(), "a")
	assert.ErrorIs(t, err, ErrClosed)
}
