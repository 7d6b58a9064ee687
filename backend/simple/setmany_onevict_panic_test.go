package simple_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// TestSetManyOnEvictPanicWritesEveryItem: an OnEvict that panicked for a
// key one item of a SetMany evicted stopped the call there: the items after
// it were never written, where a Dropper's panic lets the call go on to the
// end (and Options.OnEvict says the write is made). Every item is written
// now, OnEvict is told of every eviction, and the call then panics with
// the first panic.
func TestSetManyOnEvictPanicWritesEveryItem(t *testing.T) {
	var told []string
	s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1, OnEvict: func(key string) {
		told = append(told, key)
		panic("onevict " + key)
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	ctx := context.Background()
	items := []backend.Item{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}, {Key: "c", Value: []byte("3")}}
	assert.PanicsWithValue(t, "onevict a", func() { _ = s.SetMany(ctx, items) })
	v, err := s.Get(ctx, "c")
	if assert.NoError(t, err, "the last item written") {
		assert.Equal(t, "3", string(v))
	}
	assert.Equal(t, []string{"a", "b"}, told, "every eviction told")
}
