//go:build linux

package testutil

import (
	"os"
	"syscall"
	"testing"
)

// SmallDisk mounts a 512 KiB tmpfs on a new temporary directory and
// returns it, for tests of a full disk; it skips the test when it cannot
// (not root, or no mount allowed).
func SmallDisk(t testing.TB) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	return dir
}
