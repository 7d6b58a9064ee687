package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// TestNearDecodedKeepsItsType: on a near cache, the first reader of
// an entry keeps its decoded value for the later ones. A later reader of
// another type that the kept value happens to satisfy (any, an interface)
// got the first reader's value, decoded as the first reader's type (a
// struct that dropped the fields it does not have), instead of the stored
// value decoded as its own type, as it gets without a near cache.
func TestNearDecodedKeepsItsType(t *testing.T) {
	ctx := context.Background()
	n, err := near.New(&remote{Backend: simple.Must(simple.Options{})}, near.Options{MaxStale: time.Minute})
	require.NoError(t, err)
	c, err := New(&Options{Backend: n})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	type full struct{ A, B int }
	type partial struct{ A int }
	require.NoError(t, SetAs(ctx, c, "k", full{1, 2}, time.Minute))

	p, err := GetAs[partial](ctx, c, "k") // read remote, kept near
	require.NoError(t, err)
	assert.Equal(t, partial{1}, p)
	p, err = GetAs[partial](ctx, c, "k") // a near hit
	require.NoError(t, err)
	assert.Equal(t, partial{1}, p)

	v, err := GetAs[any](ctx, c, "k")
	require.NoError(t, err)
	m, ok := v.(map[string]any)
	require.True(t, ok, "GetAs[any] decodes the stored JSON object as a map, got %T %v", v, v)
	assert.Len(t, m, 2, "both stored fields")
}
