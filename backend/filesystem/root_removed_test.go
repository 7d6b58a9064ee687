package filesystem_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// TestNamespaceDirectoryRemovedUnderAStore: the namespace directory removed
// whole (rm -rf, a tmp cleaner) under a running Store: its entries are
// misses, not errors, and writes make the directory again, as the store's
// own and with its mode, and are read back, deleted and cleared.
func TestNamespaceDirectoryRemovedUnderAStore(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Set(bg, "a", []byte("1"), 0))
	require.NoError(t, os.RemoveAll(s.Dir()))

	_, err := s.Get(bg, "a")
	assert.ErrorIs(t, err, backend.ErrNotFound, "gone with its directory: a miss")
	ok, err := s.Has(bg, "a")
	require.NoError(t, err)
	assert.False(t, ok)
	require.NoError(t, s.Delete(bg, "a"))
	require.NoError(t, s.Clear(bg))

	require.NoError(t, s.Set(bg, "b", []byte("2"), 0))
	fi, err := os.Stat(s.Dir())
	require.NoError(t, err)
	assert.Zero(t, fi.Mode().Perm()&0o077, "made again with DirMode 0700 (less the umask)")
	v, err := s.Get(bg, "b")
	require.NoError(t, err)
	assert.Equal(t, "2", string(v))
	fi, err = os.Stat(entryPath(s, "b"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "entry files 0600")

	added, err := s.Add(bg, "c", []byte("3"), 0)
	require.NoError(t, err)
	assert.True(t, added)
	n, err := s.Incr(bg, "d", 5)
	require.NoError(t, err)
	assert.Equal(t, int64(5), n)

	require.NoError(t, os.RemoveAll(s.Dir()))
	added, err = s.Add(bg, "c", []byte("4"), 0)
	require.NoError(t, err)
	assert.True(t, added, "its entry went with the directory")
	require.NoError(t, s.Clear(bg))
	_, err = s.Get(bg, "c")
	assert.ErrorIs(t, err, backend.ErrNotFound)
	assert.Equal(t, int64(0), s.Stats().Entries, "cleared: nothing indexed but the removed files' keys learnt gone")
}
