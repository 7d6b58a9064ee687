//go:build linux

package caching

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a full disk under a filesystem store made every write fail at
// once (ENOSPC) while reads worked; the Cache counted each failed write
// against its circuit breaker, which opened after 5 and then refused the
// reads too: entries on disk were not served (ErrUnavailable for the direct
// API, uncached for views) for every cool-down, as long as the disk stayed
// full. The store now refuses such a write with backend.ErrValueTooLarge, as
// memcached's "out of memory" refusal of one item: an answer, not a failure.
//
// Needs root (it mounts a 512 KiB tmpfs); skipped otherwise.
func TestFullDiskDoesNotOpenBreakerForReads(t *testing.T) {
	dir := testutil.SmallDisk(t)
	ctx := context.Background()
	b, err := filesystem.New(filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Set(ctx, "hot", []byte("on disk"), time.Hour))

	f, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	require.NoError(t, f.Close())

	for range 10 {
		require.Error(t, c.Set(ctx, "new", make([]byte, 8192), time.Hour), "set-up: a Set on a full disk succeeded")
	}
	v, err := c.Get(ctx, "hot")
	require.NoError(t, err, "a Get of an entry on disk after writes refused for a full disk (breaker %s)", c.Stats().Breaker)
	assert.Equal(t, "on disk", string(v))
	assert.ErrorIs(t, c.Set(ctx, "new", make([]byte, 8192), time.Hour), backend.ErrValueTooLarge,
		"the refusal is the write's, as a value too large")
}
