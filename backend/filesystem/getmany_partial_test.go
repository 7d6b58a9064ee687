//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// Regression: one entry file that could not be read (permission denied,
// an I/O error) failed GetMany as a whole, so one bad tag-version file
// failed every batch that read it. The others' values now come back with
// a *backend.GetManyError naming the keys not read; a call whose every
// key failed returns that failure alone. Root reads any file, so as root
// the reader runs as another user (re-executing the test binary, as the
// group-shared cache's test does); otherwise in this process.
func TestGetManyReturnsTheFilesItCouldRead(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	asMemberWithUnreadable(t, "partial", assertPartialGetMany)
}

// asMemberWithUnreadable fills a cache with groupKeys, makes the first
// key's file unreadable by another member of the group, runs check on a
// Store of that member's (role of TestGroupSharedCacheRole, which calls
// check) and returns the file's path.
func asMemberWithUnreadable(t *testing.T, role string, check func(*testing.T, *filesystem.Store)) string {
	t.Helper()
	var p string
	asMember(t, role, func(path func(key string) string) {
		p = path(groupKeys()[0])
		require.NoError(t, os.Chmod(p, 0))
	}, check)
	return p
}

// asMember fills a cache with groupKeys, calls prepare with where each
// key's file is, and runs check on a Store of another member of the group
// (role of TestGroupSharedCacheRole, which calls check). Root reads any
// file, so as root the writer and the member are other users
// (re-executing the test binary, as the group-shared cache's test does);
// otherwise both are this process.
func asMember(t *testing.T, role string, prepare func(path func(key string) string), check func(*testing.T, *filesystem.Store)) {
	t.Helper()
	if os.Geteuid() != 0 {
		dir := t.TempDir()
		w := open(t, groupOptions(dir))
		for _, k := range groupKeys() {
			require.NoError(t, w.Set(bg, k, []byte("writer:"+k), 0))
		}
		prepare(func(k string) string { return entryPath(w, k) })
		check(t, open(t, groupOptions(dir)))
		return
	}
	bin, dir := groupCache(t, "filesystem-"+role+"-")
	runAs(t, bin, dir, "writer", writerUID)
	// Root opens no store there: the directory is another user's.
	prepare(func(k string) string {
		h := sha256.Sum256([]byte(k))
		x := hex.EncodeToString(h[:])
		return filepath.Join(dir, filesystem.DefaultNamespace, x[:2], x)
	})
	runAs(t, bin, dir, role, memberUID)
}

// assertPartialGetMany checks s's GetMany of groupKeys when the first
// key's file cannot be read and the others hold the writer's values.
func assertPartialGetMany(t *testing.T, s *filesystem.Store) {
	keys := groupKeys()
	vals, err := s.GetMany(bg, keys)
	var ge *backend.GetManyError
	require.ErrorAs(t, err, &ge, "the others read, the first not")
	assert.Equal(t, []int{0}, ge.Unread)
	assert.Equal(t, len(keys), ge.Keys)
	require.Len(t, vals, len(keys))
	assert.Nil(t, vals[0])
	for i, k := range keys[1:] {
		assert.Equal(t, "writer:"+k, string(vals[i+1]), k)
	}
	assert.ErrorIs(t, err, backend.ErrKeyRefused, "one file refused: the store is up")
	// Every key unreadable: the failure itself.
	_, err = s.GetMany(bg, keys[:1])
	require.Error(t, err)
	assert.NotErrorAs(t, err, &ge)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	// A Get of it, a tag version's read, say: refused for its key, which
	// the caching package's breaker does not count.
	_, err = s.Get(bg, keys[0])
	assert.ErrorIs(t, err, backend.ErrKeyRefused)
	assert.NotErrorIs(t, err, backend.ErrNotFound)
}
