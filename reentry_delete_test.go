package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// A GetOrSet load that asks for its own key (a recursion whose levels the
// key does not tell apart: the reentry fix's case) stores nothing from the
// inner call: the outer load's result is what the key holds. A Delete of
// the key while the outer load runs (another request's "update the
// database, then delete the key") must not turn the inner call into a
// load of its own that stores the inner level's value for every later
// caller.
func TestGetOrSetInnerLoadAfterDeleteDoesNotStoreTheInnerLevel(t *testing.T) {
	c := newReentryCache(t)
	var loadFor func(level int) func(ctx context.Context) (string, error)
	loadFor = func(level int) func(ctx context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			if level == 2 {
				return "leaf", nil
			}
			// Someone deletes the key while this load runs.
			require.NoError(t, c.Delete(context.Background(), "tree"))
			inner, err := GetOrSet(ctx, c, "tree", time.Minute, loadFor(level+1))
			return "root(" + inner + ")", err
		}
	}
	var got string
	var err error
	testutil.Returns(t, "GetOrSet", 5*time.Second, func() { got, err = GetOrSet(context.Background(), c, "tree", time.Minute, loadFor(1)) })
	require.NoError(t, err)
	require.Equal(t, "root(leaf)", got)
	later, err := GetOrSet(context.Background(), c, "tree", time.Minute, func(context.Context) (string, error) { return "reloaded", nil })
	require.NoError(t, err)
	require.NotEqual(t, "leaf", later, "the key holds the inner level's value, served to every later caller")
}
