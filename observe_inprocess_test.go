package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// TestObserverInProcessHearsByteCallsOnly pins what Observer's doc says of
// an in-process store (the default, a backend.ValueStore): the Go-value
// calls through which SetAs, GetAs and Memoize keep and read their entries
// are not observed, its byte calls (Incr, Delete) are; and on a store that
// is not in-process the same typed calls are.
func TestObserverInProcessHearsByteCallsOnly(t *testing.T) {
	ctx := context.Background()
	typedCalls := func(t *testing.T, c *Cache) {
		t.Helper()
		require.NoError(t, SetAs(ctx, c, "k", []string{"a"}, time.Minute)) // not an integer, kept as bare text
		_, err := GetAs[[]string](ctx, c, "k")
		require.NoError(t, err)
		m := Memoize(c, "observed", func(_ context.Context, a int) (int, error) { return a * 2, nil })
		for range 2 { // a miss (a read and a write), then a hit
			_, err := m.Get(ctx, 3)
			require.NoError(t, err)
		}
	}

	t.Run("in-process", func(t *testing.T) {
		obs := &opCounter{}
		c := Must(&Options{Observer: obs})
		defer c.Close()
		typedCalls(t, c)
		assert.Zero(t, obs.total(), "Go-value calls observed")
		_, err := c.Incr(ctx, "n", 1)
		require.NoError(t, err)
		require.NoError(t, c.Delete(ctx, "k"))
		assert.Equal(t, 1, obs.count(OpIncr))
		assert.Equal(t, 1, obs.count(OpDelete))
	})

	// A value too big to measure is not kept: its write deletes the older
	// entry on the store, a byte call the Observer hears like any delete.
	t.Run("in-process unmeasured", func(t *testing.T) {
		obs := &opCounter{}
		c := Must(&Options{Observer: obs})
		defer c.Close()
		require.ErrorIs(t, SetAs(ctx, c, "k", longList(1_000_000), time.Minute), backend.ErrValueTooLarge)
		assert.Equal(t, 1, obs.count(OpDelete), "the delete of the older entry observed")
	})

	t.Run("remote", func(t *testing.T) {
		fs, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
		require.NoError(t, err)
		obs := &opCounter{}
		c := Must(&Options{Backend: fs, Observer: obs})
		defer c.Close()
		typedCalls(t, c)
		assert.Positive(t, obs.count(OpSet), "writes observed")
		assert.Positive(t, obs.count(OpGet)+obs.count(OpGetMany), "reads observed")
	})
}

// total is the number of calls o was told of.
func (o *opCounter) total() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.ops {
		n += c
	}
	return n
}
