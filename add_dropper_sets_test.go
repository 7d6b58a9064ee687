package caching

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// TestDropperPanicAddCountedInSets: an Add that lands and evicts a value
// that panics when dropped (a simple.Dropper stored through Backend) raised
// the panic before the Add was counted: the entry (or bare integer) was
// stored and Stats.Sets missed it, as Set's and SetMany's writes did before
// they were counted first. The Add is counted now, and the panic still
// reaches the caller.
func TestDropperPanicAddCountedInSets(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		value []byte
	}{
		{"entry", []byte("x")},
		{"integer", []byte("42")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1})
			require.NoError(t, err)
			c := Must(&Options{Backend: s})
			t.Cleanup(func() { _ = c.Close() })
			require.NoError(t, s.StoreValue("p", panicDropper{}, 8, 0))
			assert.PanicsWithValue(t, "dropper panic", func() { _, _ = c.Add(ctx, "a", tc.value, 0) })
			got, err := c.Get(ctx, "a")
			require.NoError(t, err)
			assert.Equal(t, tc.value, got)
			assert.Equal(t, int64(1), c.Stats().Sets, "the Add counted")
		})
	}
}
