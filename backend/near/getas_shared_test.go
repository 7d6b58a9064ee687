package near_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
)

// TestNearGetAsSharesTheDecodedValue: GetAs's doc says that with a near
// cache, once memory keeps the entry, the value its first reader decoded
// is handed to every later reader of the process, that first reader's own
// result included (not "a new T", as on a remote store alone), and so is a
// GetOrSet that finds it stored: a change one caller makes to its result
// is seen by all of them. This is why the values must not be modified.
func TestNearGetAsSharesTheDecodedValue(t *testing.T) {
	ctx := context.Background()
	p := newProcess(t, newBus(t), near.Options{}, caching.Options{})
	require.NoError(t, caching.SetAs(ctx, p.c, "m", map[string]int{"a": 1}, time.Minute))

	first, err := caching.GetAs[map[string]int](ctx, p.c, "m") // read remote, decoded, kept
	require.NoError(t, err)
	require.Equal(t, 1, first["a"])
	first["a"] = 99 // what the doc forbids, to see who shares it

	second, err := caching.GetAs[map[string]int](ctx, p.c, "m") // a near hit
	require.NoError(t, err)
	assert.Equal(t, 99, second["a"], "a near hit decoded the entry again")

	third, err := caching.GetOrSet(ctx, p.c, "m", time.Minute, func(context.Context) (map[string]int, error) {
		t.Error("load ran for a stored value")
		return nil, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 99, third["a"], "GetOrSet's hit is not GetAs's shared value")
}
