package caching

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// TestFragmentEmptyRenderReadsBackEmpty: a fragment whose render writes
// nothing (an empty list, a template with nothing to show) is stored, and
// read back as it was rendered: empty, not the Codec's encoding of nil
// ("null", which the in-process store used to return, and put in every
// page that showed the fragment), both by the next Fragment call and by
// Get of its key. On every store, and through a near cache.
func TestFragmentEmptyRenderReadsBackEmpty(t *testing.T) {
	check := func(t *testing.T, c *Cache) {
		ctx := context.Background()
		key, err := FragmentKey("empty")
		require.NoError(t, err)
		renders := 0
		render := func(w io.Writer) error { renders++; return nil }
		first, err := c.Fragment(ctx, key, time.Minute, render)
		require.NoError(t, err)
		require.Equal(t, "", string(first))
		for range 2 { // the second hit of a near cache is served from memory
			again, err := c.Fragment(ctx, key, time.Minute, render)
			require.NoError(t, err)
			assert.Equal(t, 1, renders, "a hit")
			assert.Equal(t, "", string(again), "a hit returns what the render wrote")
		}
		got, err := c.Get(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "", string(got), "Get of the fragment's key")
	}
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		check(t, c)
	})
	t.Run("near", func(t *testing.T) {
		n, err := near.New(&remote{Backend: simple.Must(simple.Options{})}, near.Options{MaxStale: time.Minute})
		require.NoError(t, err)
		c, err := New(&Options{Backend: n})
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		check(t, c)
	})
}
