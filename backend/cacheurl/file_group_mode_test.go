package cacheurl_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/cacheurl"
	"github.com/go-caching/caching/backend/filesystem"
)

// A file:// URL for a cache shared by a group, dir_mode=0770, with the
// default file_mode 0600 is refused, as backend/filesystem's New refuses
// those modes (the other members could open neither the entry files nor
// the lock files): the error names both modes and the fix, and nothing is
// made in the directory. With file_mode=0640 the URL opens.
func TestOpenFileGroupDirModeNeedsGroupReadableFiles(t *testing.T) {
	dir := t.TempDir()
	b, err := cacheurl.Open("file://" + filepath.ToSlash(dir) + "?dir_mode=0770")
	assert.Nil(t, b)
	require.Error(t, err)
	assert.ErrorIs(t, err, cacheurl.ErrInvalidURL)
	assert.ErrorIs(t, err, backend.ErrInvalidOption)
	var e *cacheurl.Error
	require.True(t, errors.As(err, &e), "%T", err)
	assert.Equal(t, "options", e.Part, "%v", err)
	for _, want := range []string{"FileMode 0600", "DirMode 0770", "0o640 or 0o660"} {
		assert.Contains(t, err.Error(), want)
	}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, entries, "the refused URL made something in the directory")

	b, err = cacheurl.Open("file://" + filepath.ToSlash(dir) + "?dir_mode=0770&file_mode=0640&sweep_interval=-1")
	require.NoError(t, err)
	assert.IsType(t, &filesystem.Store{}, b)
	roundTrip(t, b)
}
