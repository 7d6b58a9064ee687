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

// TestUnreadableFileErrorSaysWhatHappened: the error of a read of an entry
// file this process may not read said "key refused by its server", the
// text of backend.ErrKeyRefused, which speaks of a server the store does
// not have. It now says that the key's entry file may not be read by this
// process, and why that may be, and still wraps backend.ErrKeyRefused (the
// caching package's breaker tells it by errors.Is) and the system's error.
func TestUnreadableFileErrorSaysWhatHappened(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	asMemberWithUnreadable(t, "refused-text", assertRefusedText)
}

// assertRefusedText checks the text of s's error for the first of
// groupKeys, whose file s may not read.
func assertRefusedText(t *testing.T, s *filesystem.Store) {
	_, err := s.Get(bg, groupKeys()[0])
	require.Error(t, err)
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.ErrorIs(t, err, fs.ErrPermission)
	assert.NotContains(t, err.Error(), "server")
	assert.Contains(t, err.Error(), "filesystem: this process may not read the key's entry file")
}
