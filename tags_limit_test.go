package caching

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMoreTagsThanAnEntryHolds: an entry records at most 1,024 tags, and
// only its decoder checked it. On the in-process store an entry with more
// was stored and served; on a remote one it was written, then read back as
// corrupt and deleted, every call. Now a write with more tags fails on
// every store, before it creates a version.
func TestMoreTagsThanAnEntryHolds(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := newViewEnv(t, k)
		ctx := context.Background()
		tags := make([]string, maxEntryTags+1)
		for i := range tags {
			tags[i] = fmt.Sprint("t", i)
		}
		err := e.c.Set(ctx, "k", []byte("v"), time.Minute, Tags(tags...))
		require.ErrorIs(t, err, ErrInvalidOption)
		assert.Contains(t, err.Error(), "1025 tags")
		_, err = e.c.Get(ctx, "k")
		assert.ErrorIs(t, err, ErrNotFound)
		assert.Zero(t, entries(t, e.store), "no version was created")

		calls := 0
		m := Memoize(e.c, "f", func(context.Context, int) (int, error) { calls++; return 1, nil },
			ArgTags(func(int) []string { return tags }))
		for range 2 {
			v, err := m.Get(ctx, 1)
			require.NoError(t, err, "Memoize fails open")
			assert.Equal(t, 1, v)
		}
		assert.Equal(t, 2, calls, "not stored")
		assert.Zero(t, e.c.Stats().Corrupt)
		assert.NoError(t, e.c.Set(ctx, "k", []byte("v"), time.Minute, Tags(tags[:maxEntryTags]...)), "1,024 are fine")
	})
}
