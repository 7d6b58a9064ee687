//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"io/fs"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// Regression: DeleteCount of a key whose entry file the process may not
// read (another group member's, made with a FileMode that shuts the group
// out) read the file to count it, failed, and left it on disk: the
// invalidation was lost, and the member who wrote the entry went on
// serving the value the caller had just deleted (Cache.DeleteMany uses
// DeleteCount). Delete removed it. DeleteCount now removes it too, and
// still reports it (backend.ErrKeyRefused): it could not tell whether the
// file held a live entry, so the file is not counted.
func TestDeleteCountRemovesAFileItCannotRead(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	p := asMemberWithUnreadable(t, "deletecount", assertDeleteCountOfUnreadable)
	_, err := os.Lstat(p)
	require.ErrorIs(t, err, fs.ErrNotExist, "the entry file DeleteCount could not read is still there: its writer still serves it")
}

// assertDeleteCountOfUnreadable checks s's DeleteCount of the first two
// groupKeys when the first key's file cannot be read: both are removed,
// the second counted, the first reported.
func assertDeleteCountOfUnreadable(t *testing.T, s *filesystem.Store) {
	keys := groupKeys()[:2]
	n, err := s.DeleteCount(bg, keys...)
	assert.ErrorIs(t, err, backend.ErrKeyRefused, "the file it could not read is reported")
	assert.Equal(t, 1, n, "the readable entry is counted")
	for _, k := range keys {
		_, err := s.Get(bg, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, "Get(%q) after DeleteCount", k)
	}
}
