package caching

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/filesystem"
)

// TestObserverHearsDeleteMany: on a backend that counts its own deletes
// (backend.DeleteCounter: filesystem, memcached), DeleteMany's call never
// reached Options.Observer, which is told of every backend call.
func TestObserverHearsDeleteMany(t *testing.T) {
	fs, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
	require.NoError(t, err)
	obs := &opCounter{}
	c := Must(&Options{Backend: fs, Observer: obs})
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "a", []byte("1"), 0))
	before := obs.count(OpDelete)
	n, err := c.DeleteMany(ctx, "a", "b")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, before+1, obs.count(OpDelete), "the delete was observed")
}
