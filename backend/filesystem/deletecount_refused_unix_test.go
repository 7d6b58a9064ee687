//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
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

// distinctKeys returns n of groupKeys, the first of them first, each in a
// subdirectory of its own.
func distinctKeys(t *testing.T, n int) []string {
	t.Helper()
	var keys []string
	seen := map[byte]bool{}
	for _, k := range groupKeys() {
		if h := sha256.Sum256([]byte(k)); !seen[h[0]] && len(keys) < n {
			seen[h[0]] = true
			keys = append(keys, k)
		}
	}
	require.Len(t, keys, n)
	return keys
}

// Regression: DeleteCount counted a key whose file it removed but could
// not read among the keys it failed to delete: of two such keys, its
// error said "(and 1 other keys not deleted)", when both files were gone,
// and a caller retried an invalidation that had been made.
func TestDeleteCountSaysItRemovedTheFilesItCannotRead(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	keys := distinctKeys(t, 3)
	var paths []string
	asMember(t, "deletecount-refused", func(path func(string) string) {
		for _, k := range keys[:2] {
			paths = append(paths, path(k))
			require.NoError(t, os.Chmod(path(k), 0))
		}
	}, assertDeleteCountOfTwoUnreadable)
	for _, p := range paths {
		_, err := os.Lstat(p)
		require.ErrorIs(t, err, fs.ErrNotExist, "a file DeleteCount could not read is still there")
	}
}

// assertDeleteCountOfTwoUnreadable checks s's DeleteCount of three keys
// in subdirectories of their own, the first two of which it cannot read.
func assertDeleteCountOfTwoUnreadable(t *testing.T, s *filesystem.Store) {
	keys := distinctKeys(t, 3)
	n, err := s.DeleteCount(bg, keys...)
	require.ErrorIs(t, err, backend.ErrKeyRefused, "the files it could not read are reported")
	assert.NotContains(t, err.Error(), "not deleted", "every key was deleted")
	assert.Contains(t, err.Error(), "1 other keys removed but not counted")
	assert.Equal(t, 1, n, "the readable entry is counted")
	for _, k := range keys {
		_, err := s.Get(bg, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, "Get(%q) after DeleteCount", k)
	}
}

// Regression: a key whose file DeleteCount removed but could not read
// was counted among the keys not deleted when another key failed: of one
// such key and one whose file could not be removed, the error said "(and
// 1 other keys not deleted)".
func TestDeleteCountOfAnUnreadableFileAndAFailure(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	keys := distinctKeys(t, 2)
	var unreadable string
	asMember(t, "deletecount-mixed", func(path func(string) string) {
		unreadable = path(keys[0])
		require.NoError(t, os.Chmod(unreadable, 0))
		// The second key's file cannot be removed: its subdirectory
		// is not writable.
		sub := filepath.Dir(path(keys[1]))
		require.NoError(t, os.Chmod(sub, 0o550))
		t.Cleanup(func() { os.Chmod(sub, 0o770) })
	}, assertDeleteCountOfUnreadableAndFailure)
	_, err := os.Lstat(unreadable)
	require.ErrorIs(t, err, fs.ErrNotExist, "the file DeleteCount could not read is still there")
}

// assertDeleteCountOfUnreadableAndFailure checks s's DeleteCount of two
// keys in subdirectories of their own: the first's file it cannot read,
// the second's it cannot remove.
func assertDeleteCountOfUnreadableAndFailure(t *testing.T, s *filesystem.Store) {
	keys := distinctKeys(t, 2)
	_, err := s.DeleteCount(bg, keys...)
	require.Error(t, err)
	assert.NotErrorIs(t, err, backend.ErrKeyRefused, "a failure is not taken for a refusal, which the breaker does not count")
	assert.ErrorIs(t, err, fs.ErrPermission, "the file not removed is reported")
	assert.NotContains(t, err.Error(), "other keys not deleted", "one key was not deleted")
	assert.Contains(t, err.Error(), "1 keys removed but not counted")
	_, err = s.Get(bg, keys[0])
	assert.ErrorIs(t, err, backend.ErrNotFound, "Get(%q) after DeleteCount", keys[0])
	v, err := s.Get(bg, keys[1])
	require.NoError(t, err, "the entry not removed is still served")
	assert.Equal(t, "writer:"+keys[1], string(v))
}

// Regression: where DeleteCount stopped (a subdirectory left locked by
// another process, a deadline) after it had removed a file it could not
// read, its error joined the stop's with the refusal's and so wrapped
// backend.ErrKeyRefused: the caching package's circuit breaker, which
// does not count a refusal, took the whole error for one.
func TestDeleteCountOfAnUnreadableFileAndALockedKey(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	keys := distinctKeys(t, 2)
	asMember(t, "deletecount-locked", func(path func(string) string) {
		require.NoError(t, os.Chmod(path(keys[0]), 0))
		// Another process holds the second key's subdirectory locked.
		f, err := os.OpenFile(filepath.Join(filepath.Dir(path(keys[1])), ".lock"), os.O_RDWR, 0)
		require.NoError(t, err)
		t.Cleanup(func() { f.Close() })
		require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	}, assertDeleteCountOfUnreadableAndLocked)
}

// assertDeleteCountOfUnreadableAndLocked checks s's DeleteCount of two
// keys in subdirectories of their own: the first's file it cannot read,
// the second's subdirectory another process holds locked.
func assertDeleteCountOfUnreadableAndLocked(t *testing.T, s *filesystem.Store) {
	keys := distinctKeys(t, 2)
	_, err := s.DeleteCount(bg, keys...)
	require.Error(t, err)
	assert.NotErrorIs(t, err, backend.ErrKeyRefused, "the key left locked is not taken for a refusal")
	assert.Contains(t, err.Error(), "locked by another process")
	assert.Contains(t, err.Error(), "(1 keys not deleted)")
	assert.Contains(t, err.Error(), "1 keys removed but not counted")
	_, err = s.Get(bg, keys[0])
	assert.ErrorIs(t, err, backend.ErrNotFound, "Get(%q) after DeleteCount", keys[0])
}
