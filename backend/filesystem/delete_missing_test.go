package filesystem_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/filesystem"
)

// TestDeleteOfMissingKeyCreatesNothing: a Delete or DeleteCount of a key
// whose subdirectory does not exist created the subdirectory and its lock
// file, to lock them.
func TestDeleteOfMissingKeyCreatesNothing(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Delete(bg, "a", "b"))
	n, err := s.DeleteCount(bg, "c")
	require.NoError(t, err)
	assert.Zero(t, n)
	names, err := os.ReadDir(s.Dir())
	require.NoError(t, err)
	assert.Empty(t, names, "the namespace directory")
}

// TestDeleteAfterSubdirectoryRemoved: a Delete of a key whose subdirectory
// was removed under the Store (an rm -rf to clear the cache) creates
// nothing and forgets the key; a Set of it afterwards makes the
// subdirectory again.
func TestDeleteAfterSubdirectoryRemoved(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	sub := filepath.Dir(entryPath(s, "k"))
	require.NoError(t, os.RemoveAll(sub))

	require.NoError(t, s.Delete(bg, "k"))
	_, err := os.Lstat(sub)
	assert.ErrorIs(t, err, fs.ErrNotExist, "Delete made no directory")
	assert.Zero(t, s.Stats().Entries, "Delete forgot the key")

	require.NoError(t, s.Set(bg, "k", []byte("w"), 0))
	v, err := s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "w", string(v))
	n, err := s.Incr(bg, "n", 1)
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
}

// TestEvictionAfterSubdirectoryRemoved: evicting a key whose subdirectory
// was removed under the Store does not make the subdirectory again.
func TestEvictionAfterSubdirectoryRemoved(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxEntries: 1, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	sub := filepath.Dir(entryPath(s, "k"))
	require.NoError(t, os.RemoveAll(sub))
	other := "j"
	for i := 0; filepath.Dir(entryPath(s, other)) == sub; i++ {
		other = fmt.Sprint("j", i)
	}

	require.NoError(t, s.Set(bg, other, []byte("v"), 0)) // evicts k
	_, err := os.Lstat(sub)
	assert.ErrorIs(t, err, fs.ErrNotExist, "eviction made no directory")
	assert.EqualValues(t, 1, s.Stats().Entries)
}
