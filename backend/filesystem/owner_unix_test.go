//go:build unix

package filesystem_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// nobody is the user (and group) the tests give what another local user
// would have planted.
const nobody = 65534

// needRoot skips a test that must chown a file to another user.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: chowns directories and files to another user (uid 65534) to stand for one planted by another local user")
	}
}

// mkdirAs makes dir with exactly mode (no umask), owned by uid and gid
// (-1: left as made).
func mkdirAs(t *testing.T, dir string, mode fs.FileMode, uid, gid int) {
	t.Helper()
	require.NoError(t, os.Mkdir(dir, mode))
	require.NoError(t, os.Chmod(dir, mode))
	require.NoError(t, os.Lchown(dir, uid, gid))
}

// forge returns a well-framed entry file for key holding value, as any
// local user can write one (the format has a checksum, no secret).
func forge(t *testing.T, key string, value []byte) []byte {
	t.Helper()
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Set(bg, key, value, 0))
	b, err := os.ReadFile(entryPath(s, key))
	require.NoError(t, err)
	return b
}

const (
	victimKey = "view:/account"
	forgedVal = "<script>steal()</script>"
)

// plantForeignNamespace makes dir/default as another user would: owned by
// nobody, mode 0777, with a subdirectory (nobody's, 0777) holding a forged
// entry for victimKey. It returns the path of the forged file.
func plantForeignNamespace(t *testing.T, dir string, uid, gid int, mode fs.FileMode) string {
	t.Helper()
	ns := filepath.Join(dir, filesystem.DefaultNamespace)
	mkdirAs(t, ns, mode, uid, gid)
	p := filepath.Join(ns, entryRel(victimKey))
	mkdirAs(t, filepath.Dir(p), mode, uid, gid)
	require.NoError(t, os.WriteFile(p, forge(t, victimKey, []byte(forgedVal)), 0o666))
	require.NoError(t, os.Lchown(p, uid, gid))
	return p
}

// entryRel is a key's file name relative to its namespace directory, per
// the documented layout (as entryPath).
func entryRel(key string) string {
	h := sha256.Sum256([]byte(key))
	x := hex.EncodeToString(h[:])
	return filepath.Join(x[:2], x)
}

// requireRefused fails the test unless New refuses o with an error wrapping
// ErrUntrustedDir; what New accepted must not serve the forged entry
// either. The message says what was accepted (fmt.Sprintf's arguments).
func requireRefused(t *testing.T, o filesystem.Options, format string, args ...any) error {
	t.Helper()
	s, err := filesystem.New(o)
	if err == nil {
		defer s.Close()
		requireNotForged(t, s)
		t.Fatalf(format, args...)
	}
	require.ErrorIs(t, err, filesystem.ErrUntrustedDir)
	return err
}

// requireNotForged fails when s serves the forged value for victimKey by
// any read.
func requireNotForged(t *testing.T, s *filesystem.Store) {
	t.Helper()
	v, err := s.Get(bg, victimKey)
	if err == nil {
		t.Fatalf("Get served an entry a foreign user planted: %q", v)
	}
	assert.NotEqual(t, forgedVal, string(v))
	ok, _ := s.Has(bg, victimKey)
	assert.False(t, ok, "Has finds the planted entry")
	vs, _ := s.GetMany(bg, []string{victimKey})
	if len(vs) == 1 {
		assert.Nil(t, vs[0], "GetMany serves the planted entry")
	}
}

// The review's finding: a namespace directory another user made first (0777,
// owned by them) was used as it was, and the entries they wrote in it were
// served as this process's cached responses. New must refuse it.
func TestForeignNamespaceDirectoryIsRefused(t *testing.T) {
	needRoot(t)
	for _, mode := range []fs.FileMode{0o777, 0o700} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			dir := t.TempDir()
			plantForeignNamespace(t, dir, nobody, nobody, mode)
			err := requireRefused(t, filesystem.Options{Dir: dir, SweepInterval: -1}, "New accepted a namespace directory owned by uid %d", nobody)
			ns := filepath.Join(dir, filesystem.DefaultNamespace)
			msg := err.Error()
			assert.Contains(t, msg, ns, "the error names the directory")
			assert.Contains(t, msg, fmt.Sprintf("owned by uid %d", nobody), "the error gives its owner")
			assert.Contains(t, msg, fmt.Sprintf("mode %04o", mode), "the error gives its mode")
			assert.Contains(t, msg, fmt.Sprintf("uid %d", os.Geteuid()), "the error gives the owner wanted")
			assert.Contains(t, msg, "chown", "the error says how to fix it")
		})
	}
}

// A directory of this user's that others may write is refused too, unless
// Options.DirMode grants that write itself.
func TestOwnNamespaceDirectoryWritableByOthersIsRefused(t *testing.T) {
	for _, mode := range []fs.FileMode{0o777, 0o702, 0o1777, 0o720} {
		t.Run(fmt.Sprintf("%04o", mode), func(t *testing.T) {
			dir := t.TempDir()
			ns := filepath.Join(dir, filesystem.DefaultNamespace)
			mkdirAs(t, ns, mode, -1, -1)
			err := requireRefused(t, filesystem.Options{Dir: dir, SweepInterval: -1}, "New accepted a namespace directory of mode %04o with Options.DirMode 0700", mode)
			assert.Contains(t, err.Error(), ns)
			assert.Contains(t, err.Error(), "chmod")
		})
	}
}

func TestGroupWritableNamespaceDirectory(t *testing.T) {
	t.Run("accepted with DirMode 0770", func(t *testing.T) {
		dir := t.TempDir()
		mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o770, -1, -1)
		s := open(t, filesystem.Options{Dir: dir, DirMode: 0o770, FileMode: 0o640, SweepInterval: -1})
		require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
		v, err := s.Get(bg, "k")
		require.NoError(t, err)
		assert.Equal(t, "v", string(v))
	})
	t.Run("refused with DirMode 0700", func(t *testing.T) {
		dir := t.TempDir()
		mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o770, -1, -1)
		requireRefused(t, filesystem.Options{Dir: dir, DirMode: 0o700, SweepInterval: -1}, "New accepted a group-writable namespace directory with Options.DirMode 0700")
	})
	t.Run("world-writable refused with DirMode 0770", func(t *testing.T) {
		dir := t.TempDir()
		mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o777, -1, -1)
		requireRefused(t, filesystem.Options{Dir: dir, DirMode: 0o770, FileMode: 0o640, SweepInterval: -1}, "New accepted a world-writable namespace directory with Options.DirMode 0770")
	})
}

// With a DirMode that grants group write, a directory another user made is
// accepted when its group is one of this process's: the group shares the
// cache by configuration. Not when its group is not this process's.
func TestGroupSharedNamespaceDirectoryOfAnotherUser(t *testing.T) {
	needRoot(t)
	t.Run("our group, DirMode 0770: accepted", func(t *testing.T) {
		dir := t.TempDir()
		mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o770, nobody, os.Getegid())
		s := open(t, filesystem.Options{Dir: dir, DirMode: 0o770, FileMode: 0o640, SweepInterval: -1})
		require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
		v, err := s.Get(bg, "k")
		require.NoError(t, err)
		assert.Equal(t, "v", string(v))
	})
	t.Run("our group, DirMode 0700: refused", func(t *testing.T) {
		dir := t.TempDir()
		mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o700, nobody, os.Getegid())
		requireRefused(t, filesystem.Options{Dir: dir, SweepInterval: -1}, "New accepted another user's directory with Options.DirMode 0700")
	})
	t.Run("another group, DirMode 0770: refused", func(t *testing.T) {
		dir := t.TempDir()
		plantForeignNamespace(t, dir, nobody, nobody, 0o770)
		requireRefused(t, filesystem.Options{Dir: dir, DirMode: 0o770, FileMode: 0o640, SweepInterval: -1}, "New accepted another user's directory of a group this process is not in")
	})
}

func TestFreshNamespaceDirectoryWorks(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	v, err := s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}

func TestExistingNamespaceDirectoryWorks(t *testing.T) {
	dir := t.TempDir()
	mkdirAs(t, filepath.Join(dir, filesystem.DefaultNamespace), 0o700, -1, -1)
	s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	require.NoError(t, s.Close())

	// Reopened: the directory and subdirectory it made are accepted, and
	// what it wrote is indexed and served.
	s = open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	assert.Equal(t, int64(1), s.Stats().Entries)
	v, err := s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))

	// A symbolic link of this user's to the directory is accepted too.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Mkdir(link, 0o700))
	require.NoError(t, os.Symlink(filepath.Join(dir, filesystem.DefaultNamespace), filepath.Join(link, filesystem.DefaultNamespace)))
	s = open(t, filesystem.Options{Dir: link, SweepInterval: -1})
	v, err = s.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}

// A symbolic link another user planted at the namespace's path is refused,
// even to a directory of this user's (it would carry the store's files
// where that user chose).
func TestForeignSymlinkAsNamespaceIsRefused(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "mine")
	require.NoError(t, os.Mkdir(target, 0o700))
	link := filepath.Join(dir, filesystem.DefaultNamespace)
	require.NoError(t, os.Symlink(target, link))
	require.NoError(t, os.Lchown(link, nobody, nobody))
	err := requireRefused(t, filesystem.Options{Dir: dir, SweepInterval: -1}, "New accepted a symbolic link another user planted as the namespace directory")
	assert.Contains(t, err.Error(), link)
}

// A subdirectory that is not the store's to trust (made by another user
// before the namespace directory was tightened, say) is never read from nor
// written to; the namespace directory itself is this process's.
func TestForeignSubdirectoryIsNeverServed(t *testing.T) {
	needRoot(t)
	cases := []struct {
		name     string
		mode     fs.FileMode
		uid, gid int
	}{
		{"foreign 0777", 0o777, nobody, nobody},
		{"foreign 0700", 0o700, nobody, nobody},
		{"own 0777", 0o777, -1, -1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ns := filepath.Join(dir, filesystem.DefaultNamespace)
			mkdirAs(t, ns, 0o700, -1, -1)
			p := filepath.Join(ns, entryRel(victimKey))
			mkdirAs(t, filepath.Dir(p), tc.mode, tc.uid, tc.gid)
			require.NoError(t, os.WriteFile(p, forge(t, victimKey, []byte(forgedVal)), 0o666))
			require.NoError(t, os.Lchown(p, nobody, nobody))

			s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
			assert.Equal(t, int64(0), s.Stats().Entries, "New does not index the planted entry")
			requireNotForged(t, s)

			err := s.Set(bg, victimKey, []byte("mine"), 0)
			require.ErrorIs(t, err, filesystem.ErrUntrustedDir, "a write into a foreign subdirectory fails")
			assert.Contains(t, err.Error(), filepath.Dir(p))
			_, err = s.Add(bg, victimKey, []byte("mine"), 0)
			require.ErrorIs(t, err, filesystem.ErrUntrustedDir)
			_, err = s.Incr(bg, victimKey, 1)
			require.ErrorIs(t, err, filesystem.ErrUntrustedDir)
			des, err := os.ReadDir(filepath.Dir(p))
			require.NoError(t, err)
			assert.Len(t, des, 1, "nothing of the store's (entry, temporary or lock file) is written in it")
			require.NoError(t, s.Delete(bg, victimKey))
			require.NoError(t, s.Clear(bg))
			requireNotForged(t, s)
			_, err = os.Lstat(p)
			assert.NoError(t, err, "what is in a foreign subdirectory is left alone")

			// Other keys work as usual.
			require.NoError(t, s.Set(bg, "other", []byte("v"), 0))
			v, err := s.Get(bg, "other")
			require.NoError(t, err)
			assert.Equal(t, "v", string(v))
		})
	}
}

// An entry file another user owns, in a subdirectory of the store's own
// (planted by a process racing the checks, or by root), is a miss, and left
// alone by reads.
func TestForeignOwnedEntryFileIsAMiss(t *testing.T) {
	needRoot(t)
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Set(bg, victimKey, []byte("mine"), 0))
	p := entryPath(s, victimKey)
	require.NoError(t, os.WriteFile(p, forge(t, victimKey, []byte(forgedVal)), 0o666))
	require.NoError(t, os.Lchown(p, nobody, nobody))
	requireNotForged(t, s)
	v, err := s.Get(bg, victimKey)
	require.ErrorIs(t, err, backend.ErrNotFound)
	assert.Nil(t, v)

	// A Set replaces it with the store's own.
	require.NoError(t, s.Set(bg, victimKey, []byte("mine"), 0))
	v, err = s.Get(bg, victimKey)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(v))
}

// The check is the same for every store sharing a directory: a second store
// (another process) opening the namespace the first made is accepted.
func TestSecondStoreOnTheSameDirectory(t *testing.T) {
	dir := t.TempDir()
	a := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	b := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, a.Set(bg, "k", []byte("v"), 0))
	v, err := b.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
	assert.False(t, errors.Is(err, filesystem.ErrUntrustedDir))
}

// An entry file of the store's own user that others may write (its mode
// changed after the store wrote it, by hand or by a tool) could have been
// rewritten by them: it is a miss, as a file of another user's is. It needs
// no root: the file is the test's own.
func TestWritableEntryFileIsAMiss(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1})
	require.NoError(t, s.Set(bg, victimKey, []byte("mine"), 0))
	p := entryPath(s, victimKey)
	require.NoError(t, os.WriteFile(p, forge(t, victimKey, []byte(forgedVal)), 0o600))
	require.NoError(t, os.Chmod(p, 0o666))
	requireNotForged(t, s)

	// With FileMode granting group write, a group-writable file is the
	// store's own kind of file; one writable by others is still refused.
	g := open(t, filesystem.Options{Dir: t.TempDir(), FileMode: 0o660, DirMode: 0o770, SweepInterval: -1})
	require.NoError(t, g.Set(bg, victimKey, []byte("mine"), 0))
	v, err := g.Get(bg, victimKey)
	require.NoError(t, err)
	assert.Equal(t, "mine", string(v))
	require.NoError(t, os.Chmod(entryPath(g, victimKey), 0o662))
	_, err = g.Get(bg, victimKey)
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// FileMode and DirMode may not let others write: any user could plant
// entries.
func TestModesWritableByOthersAreRefused(t *testing.T) {
	for _, o := range []filesystem.Options{{FileMode: 0o666}, {DirMode: 0o777}, {FileMode: 0o602, DirMode: 0o700}} {
		o.Dir = t.TempDir()
		_, err := filesystem.New(o)
		require.ErrorIs(t, err, backend.ErrInvalidOption, "FileMode %04o, DirMode %04o", o.FileMode, o.DirMode)
	}
}
