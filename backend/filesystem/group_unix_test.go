//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// The users of the group-shared cache test: two members of one group, not
// the test's own user.
const (
	groupGID  = 4000
	writerUID = 4002
	memberUID = 4001
)

// groupRoleEnv names the role a re-executed test binary plays in
// TestGroupSharedCacheOtherMemberReadsAndWrites; its dir is in groupDirEnv.
const (
	groupRoleEnv = "FILESYSTEM_TEST_GROUP_ROLE"
	groupDirEnv  = "FILESYSTEM_TEST_GROUP_DIR"
)

// groupOptions are the options the package documentation gives for a
// cache shared by the users of one group: directories group-writable, entry
// files group-readable (0640: no group write, so the lock files the store
// creates are not group-writable either).
func groupOptions(dir string) filesystem.Options {
	return filesystem.Options{Dir: dir, DirMode: 0o770, FileMode: 0o640, SweepInterval: -1}
}

// groupKeys are enough keys to land in many subdirectories.
func groupKeys() []string {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprint("k", i)
	}
	return keys
}

// The review's finding: in a cache shared by a group with FileMode 0640
// (as the package documentation suggests), each subdirectory's lock file
// was opened read-write, which only the user who created it may do: every
// Set, Add, Incr and Delete another member made of a key in a subdirectory
// someone else had created failed with "permission denied". Reads worked,
// but nothing could be written or deleted there. The lock file is now
// opened read-only when it may not be opened for writing (flock needs no
// write access).
//
// It runs the test binary again as two users of one group (it needs root
// for that): the writer fills the cache, the other member reads the
// entries and writes and deletes some of them.
func TestGroupSharedCacheOtherMemberReadsAndWrites(t *testing.T) {
	if os.Getenv(groupRoleEnv) != "" {
		t.Skip("run as a role of itself")
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: runs the test binary as two other users (uids 4001 and 4002, group 4000)")
	}
	bin, dir := groupCache(t, "filesystem-group-")
	runAs(t, bin, dir, "writer", writerUID)
	runAs(t, bin, dir, "member", memberUID)
}

// groupCache makes, for a test run as root, a directory of our own that
// the group's users may reach (t.TempDir's are 0700), named from prefix,
// holding a copy of the test binary (go test builds it in a 0700
// directory), bin, and the cache's directory, dir: the writer's, of the
// group, setgid as documented.
func groupCache(t *testing.T, prefix string) (bin, dir string) {
	t.Helper()
	base, err := os.MkdirTemp("", prefix)
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(base) })
	require.NoError(t, os.Chmod(base, 0o755))
	bin = filepath.Join(base, "filesystem.test")
	copyExecutable(t, bin)
	dir = filepath.Join(base, "cache")
	require.NoError(t, os.Mkdir(dir, 0o770))
	require.NoError(t, os.Chmod(dir, 0o2770))
	require.NoError(t, os.Chown(dir, writerUID, groupGID))
	return bin, dir
}

// copyExecutable copies the running test binary to path, mode 0755.
func copyExecutable(t *testing.T, path string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	in, err := os.Open(exe)
	require.NoError(t, err)
	defer in.Close()
	out, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	require.NoError(t, err)
	_, err = io.Copy(out, in)
	require.NoError(t, err)
	require.NoError(t, out.Close())
	require.NoError(t, os.Chmod(path, 0o755))
}

// runAs runs TestGroupSharedCacheRole of bin as uid in the group, playing
// role on dir, and fails the test with its output if it fails.
func runAs(t *testing.T, bin, dir, role string, uid uint32) {
	t.Helper()
	cmd := exec.Command(bin, "-test.run=^TestGroupSharedCacheRole$", "-test.v", "-test.count=1")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), groupRoleEnv+"="+role, groupDirEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: groupGID}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s (uid %d, gid %d):\n%s", role, uid, groupGID, out)
	require.Contains(t, string(out), "--- PASS: TestGroupSharedCacheRole", "%s ran no test:\n%s", role, out)
}

// TestGroupSharedCacheRole is a role of
// TestGroupSharedCacheOtherMemberReadsAndWrites, run by it as another
// user; it does nothing on its own.
func TestGroupSharedCacheRole(t *testing.T) {
	role, dir := os.Getenv(groupRoleEnv), os.Getenv(groupDirEnv)
	if role == "" {
		t.Skip("a role of TestGroupSharedCacheOtherMemberReadsAndWrites, run by it as another user")
	}
	// Without it, the directories made (0770 less a umask of 022) would
	// not be group-writable: see the package documentation.
	syscall.Umask(0o007)
	s := open(t, groupOptions(dir))
	keys := groupKeys()
	switch role {
	case "writer":
		for _, k := range keys {
			require.NoError(t, s.Set(bg, k, []byte("writer:"+k), 0))
		}
		n, err := s.Incr(bg, "counter", 1)
		require.NoError(t, err)
		require.EqualValues(t, 1, n)
	case "member":
		for _, k := range keys {
			v, err := s.Get(bg, k)
			require.NoError(t, err, "Get(%q) of the writer's entry", k)
			assert.Equal(t, "writer:"+k, string(v))
		}
		// Every key lands in a subdirectory the writer made, with its
		// lock file (0640, the writer's).
		for _, k := range keys[:len(keys)/2] {
			require.NoError(t, s.Set(bg, k, []byte("member:"+k), 0), "Set(%q) in a subdirectory the writer made", k)
			v, err := s.Get(bg, k)
			require.NoError(t, err)
			assert.Equal(t, "member:"+k, string(v))
		}
		for _, k := range keys[len(keys)/2:] {
			require.NoError(t, s.Delete(bg, k), "Delete(%q) in a subdirectory the writer made", k)
			_, err := s.Get(bg, k)
			require.ErrorIs(t, err, backend.ErrNotFound)
		}
		n, err := s.Incr(bg, "counter", 1)
		require.NoError(t, err, "Incr of the writer's counter")
		assert.EqualValues(t, 2, n)
		added, err := s.Add(bg, keys[0], []byte("again"), 0)
		require.NoError(t, err)
		assert.False(t, added, "Add of a live key")
	case "partial": // of TestGetManyReturnsTheFilesItCouldRead
		assertPartialGetMany(t, s)
	case "deletecount": // of TestDeleteCountRemovesAFileItCannotRead
		assertDeleteCountOfUnreadable(t, s)
	case "deletecount-refused": // of TestDeleteCountSaysItRemovedTheFilesItCannotRead
		assertDeleteCountOfTwoUnreadable(t, s)
	case "deletecount-mixed": // of TestDeleteCountOfAnUnreadableFileAndAFailure
		assertDeleteCountOfUnreadableAndFailure(t, s)
	case "deletecount-locked": // of TestDeleteCountOfAnUnreadableFileAndALockedKey
		assertDeleteCountOfUnreadableAndLocked(t, s)
	case "refused-text": // of TestUnreadableFileErrorSaysWhatHappened
		assertRefusedText(t, s)
	default:
		t.Fatalf("unknown role %q", role)
	}
}
