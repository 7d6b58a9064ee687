package pool_test

import (
	"testing"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/pool"
)

// TestUnregisterReplacesAPool: a pool closed and opened again (a new
// client after a credentials rotation, a configuration reload) could not
// be registered again under its name (ErrDuplicate) nor removed: the
// Registry went on reporting the closed pool, and a replacement
// registered under a new name at each reload grew the report, and the
// metrics' series, without bound. Unregister removes a source, and the
// name can be used again.
func TestUnregisterReplacesAPool(t *testing.T) {
	var reg pool.Registry
	old := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	require.NoError(t, reg.RegisterRedis("cache", old, pool.Config{}))
	require.NoError(t, old.Close())
	require.NotPanics(t, func() { reg.Snapshot() }, "a closed pool's source, as a report under way may call it once more")

	assert.True(t, reg.Unregister("cache"))
	assert.NotContains(t, reg.Snapshot(), "cache", "an unregistered source is still reported")
	assert.False(t, reg.Unregister("cache"), "a second Unregister finds nothing")

	require.NoError(t, reg.Register("cache", func() any { return "new" }), "the name cannot be used again")
	assert.Equal(t, map[string]any{"cache": "new"}, reg.Snapshot())
	assert.False(t, reg.Unregister("other"))

	var zero pool.Registry
	assert.False(t, zero.Unregister("cache"), "the zero Registry has nothing to remove")
}
