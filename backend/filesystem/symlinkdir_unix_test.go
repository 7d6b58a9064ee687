//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// A symbolic link planted in place of one of the namespace's two-hex-digit
// subdirectories must not carry the store's files out of its directory:
// before the fix, Set created its temporary file, the lock file and the
// entry itself in the link's target (any directory the planter chose), and
// Get read entries from there.
func TestSymlinkedSubdirectoryIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	require.NoError(t, os.Mkdir(outside, 0o700))
	s := open(t, filesystem.Options{Dir: filepath.Join(dir, "cache"), SweepInterval: -1})

	sub := filepath.Dir(entryPath(s, "k"))
	require.NoError(t, os.Symlink(outside, sub))

	err := s.Set(bg, "k", []byte("secret"), 0)
	require.Error(t, err, "a write through a symlinked subdirectory fails")
	des, err := os.ReadDir(outside)
	require.NoError(t, err)
	assert.Empty(t, des, "nothing is written outside the cache directory")

	// An entry planted in the link's target is not read through the link.
	other := open(t, filesystem.Options{Dir: filepath.Join(dir, "other"), SweepInterval: -1})
	require.NoError(t, other.Set(bg, "k", []byte("planted"), 0))
	require.NoError(t, os.Rename(entryPath(other, "k"), filepath.Join(outside, filepath.Base(entryPath(s, "k")))))
	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	require.NoError(t, s.Delete(bg, "k"))
	_, err = os.Lstat(filepath.Join(outside, filepath.Base(entryPath(s, "k"))))
	require.NoError(t, err, "Delete removes nothing outside the cache directory")
	fi, err := os.Lstat(sub)
	require.NoError(t, err)
	assert.Equal(t, os.ModeSymlink, fi.Mode().Type(), "the link itself is left alone")
}
