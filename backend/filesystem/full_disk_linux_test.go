//go:build linux

package filesystem_test

import (
	"bytes"
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

// fillDisk writes a file in dir until the file system has no space left.
func fillDisk(t *testing.T, dir string) {
	t.Helper()
	f, err := os.Create(filepath.Join(dir, "filler"))
	require.NoError(t, err)
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			return
		}
	}
}

// Regression: a Set that failed because the disk was full (ENOSPC, or a
// quota's EDQUOT) left the older value under the key readable, so a caller
// that updated its database and wrote the new value through the cache read
// the old one back until its TTL ended (forever with TTL 0); and the error,
// unclassified, counted against the Cache's circuit breaker, which opened
// for reads that worked. A full disk refuses the one write as a value too
// large does: backend.ErrValueTooLarge, the older entry removed.
func TestSetOnFullDiskRemovesOldValue(t *testing.T) {
	dir := testutil.SmallDisk(t)
	s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("price=10"), time.Hour))
	require.NoError(t, s.Set(bg, "other", []byte("kept"), time.Hour))
	fillDisk(t, dir)

	err := s.Set(bg, "k", bytes.Repeat([]byte("price=12 "), 2000), time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.ErrorIs(t, err, syscall.ENOSPC, "the cause is kept")
	assert.Contains(t, err.Error(), "disk is full")

	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the Set was to replace is gone")
	v, err := s.Get(bg, "other")
	require.NoError(t, err, "other entries are still read")
	assert.Equal(t, "kept", string(v))
}

// Companion: Add and Incr refused for a full disk are classified the same
// way (not a failure of the store), and change nothing: Add stores nothing,
// Incr leaves the value as it was.
func TestAddAndIncrOnFullDiskAreValueTooLarge(t *testing.T) {
	dir := testutil.SmallDisk(t)
	s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	_, err := s.Incr(bg, "n", 41)
	require.NoError(t, err)
	fillDisk(t, dir)

	ok, err := s.Add(bg, "new", make([]byte, 64<<10), time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.False(t, ok)
	_, err = s.Get(bg, "new")
	require.ErrorIs(t, err, backend.ErrNotFound)

	_, err = s.Incr(bg, "n", 1)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	v, err := s.Get(bg, "n")
	require.NoError(t, err, "Incr refused for a full disk leaves the value")
	assert.Equal(t, "41", string(v))
}
