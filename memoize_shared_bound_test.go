package caching

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoSharedPerNameIsBounded: what the Memoized of a name share is kept
// for at most maxNamedCounters names; the names past them share
// OtherName's, and Forget still stops their computations.
func TestMemoSharedPerNameIsBounded(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := context.Background()
	fn := func(_ context.Context, x int) (int, error) { return x, nil }
	for i := range maxNamedCounters + 10 {
		Memoize(c, fmt.Sprint("f", i), fn)
	}
	c.named.mu.Lock()
	n := len(c.named.memos)
	c.named.mu.Unlock()
	assert.Equal(t, maxNamedCounters, n)

	late1 := Memoize(c, "late", fn)
	late2 := Memoize(c, "late", fn)
	require.Same(t, late1.shared, late2.shared)
	require.Same(t, late1.shared, c.named.memo(OtherName))
	key, err := late1.Key(1)
	require.NoError(t, err)
	epoch := late2.shared.epochOf(key)
	require.NoError(t, late1.Forget(ctx, 1))
	assert.False(t, late2.shared.current(&epoch), "Forget changed the key's epoch")
}
