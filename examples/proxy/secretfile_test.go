package main

import (
	"crypto/rand"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVariantKeySecretFileMode: -variant-key-secret-file was checked for
// its length only, and a secret any user of the machine could read (a
// file left 0644, a Kubernetes secret volume's default mode) was taken:
// whoever read it could test guesses of the credentials the backend's
// keys are hashes of. The proxy now refuses a file others can read or
// write, and one of its own user's that its group can write, or read when
// the group is not one of the proxy's.
func TestVariantKeySecretFileMode(t *testing.T) {
	if !filePerms {
		t.Skip("no Unix permission bits here")
	}
	secret := rand.Text() + rand.Text() + "\n"
	dir := t.TempDir()
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{
		{0o600, true}, {0o400, true},
		// The test's own file, of its own group (the test's primary
		// group): taken when the test runs as root, as a root-owned 0440
		// secret of a pod's fsGroup is by a proxy run as root; refused
		// otherwise (TestVariantKeySecretFileOwnGroup).
		{0o440, os.Geteuid() == 0}, {0o640, os.Geteuid() == 0},
		{0o644, false}, {0o604, false}, {0o602, false}, {0o620, false}, {0o660, false},
	} {
		file := filepath.Join(dir, tc.mode.String())
		require.NoError(t, os.WriteFile(file, []byte(secret), 0o600))
		require.NoError(t, os.Chmod(file, tc.mode))
		cfg, err := parseFlags([]string{"-origin", "http://o", "-variant-key-secret-file", file}, func(string) string { return "" })
		if tc.ok {
			require.NoError(t, err, "%04o", tc.mode)
			assert.Equal(t, secret[:len(secret)-1], string(cfg.variantKeySecret), "%04o", tc.mode)
			continue
		}
		require.Error(t, err, "%04o: taken", tc.mode)
		assert.Contains(t, err.Error(), "chmod 600", "%04o", tc.mode)
		if tc.mode&0o007 != 0 {
			assert.Contains(t, err.Error(), "fsGroup", "%04o: a proxy not run as root cannot open a root-owned 0400 secret: the hint must say how it can", tc.mode)
		}
		assert.NotContains(t, err.Error(), secret[:10], "the error tells no part of the secret")
	}
}

// TestSecretModeErr runs the check with and without Unix permission bits,
// and for a file of another user (root:proxy 0640, shared with the group on
// purpose).
func TestSecretModeErr(t *testing.T) {
	assert.NoError(t, secretModeErr(true, 0o600, owner{user: true}))
	assert.NoError(t, secretModeErr(true, 0o640, owner{}), "another user's, shared with a group")
	assert.Error(t, secretModeErr(true, 0o640, owner{user: true}), "the proxy's own, readable by a group it is not in")
	assert.Error(t, secretModeErr(true, 0o644, owner{}), "readable by any user")
	assert.NoError(t, secretModeErr(false, 0o666, owner{user: true}), "no Unix permission bits (Windows)")
}

// TestVariantKeySecretFileSymlink: a Kubernetes secret volume's file is a
// symlink (key -> ..data/key -> ..2026_12_06.../key), itself of mode 0777:
// the mode checked is the file's it leads to, so that a 0400 secret there
// is taken and a 0644 one refused.
func TestVariantKeySecretFileSymlink(t *testing.T) {
	if !filePerms {
		t.Skip("no Unix permission bits here")
	}
	secret := rand.Text() + rand.Text()
	for _, tc := range []struct {
		mode fs.FileMode
		ok   bool
	}{{0o400, true}, {0o644, false}} {
		vol := t.TempDir()
		ts := filepath.Join(vol, "..2026_12_06_11_00_00.1")
		require.NoError(t, os.Mkdir(ts, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ts, "secret"), []byte(secret), tc.mode))
		require.NoError(t, os.Symlink(filepath.Base(ts), filepath.Join(vol, "..data")))
		require.NoError(t, os.Symlink(filepath.Join("..data", "secret"), filepath.Join(vol, "secret")))
		cfg, err := parseFlags([]string{"-origin", "http://o", "-variant-key-secret-file", filepath.Join(vol, "secret")}, func(string) string { return "" })
		if tc.ok {
			require.NoError(t, err, "%04o", tc.mode)
			assert.Equal(t, secret, string(cfg.variantKeySecret))
			continue
		}
		assert.Error(t, err, "%04o behind a symlink: taken", tc.mode)
	}
}

// TestVariantKeySecretFileRootFSGroup: a proxy run as root in a pod with
// an fsGroup gets its secret volume's file root-owned, of the fsGroup,
// 0440 at least (the kubelet adds the group's read to defaultMode 0400),
// and the process has the fsGroup among its groups. The proxy refused it,
// its own user's file readable by its group, where the same file was
// taken by a proxy not run as root; and no mode could satisfy it. A file
// of the proxy's own user that the group may read, not write, is taken
// when the group is one of the proxy's: nobody the pod does not already
// trust reads it.
func TestVariantKeySecretFileRootFSGroup(t *testing.T) {
	assert.NoError(t, secretModeErr(true, 0o440, owner{user: true, group: true, root: true}), "root:fsGroup 0440, the proxy root in the fsGroup")
	assert.NoError(t, secretModeErr(true, 0o640, owner{user: true, group: true, root: true}))
	assert.Error(t, secretModeErr(true, 0o440, owner{user: true, root: true}), "its own file, readable by a group the proxy is not in")
	assert.Error(t, secretModeErr(true, 0o460, owner{user: true, group: true, root: true}), "its own file, writable by its group")
	assert.Error(t, secretModeErr(true, 0o444, owner{user: true, group: true, root: true}), "readable by any user")
}

// TestVariantKeySecretFileOwnGroup: a proxy not run as root took a file of
// its own user that its group may read when the group was one of its own
// (4ca6539, for the root proxy of a pod with an fsGroup). Being in the
// group tells nothing of who else is: on macOS every user's primary group
// is staff, on SUSE users, and a file made with umask 027 (alice:staff
// 0640) let every local user read the secret, which the proxy had refused
// until then. Such a proxy can chmod 600 its own file; only root is handed
// a file (root:fsGroup 0440) it cannot make private, and only root takes it.
func TestVariantKeySecretFileOwnGroup(t *testing.T) {
	for _, perm := range []fs.FileMode{0o440, 0o640} {
		err := secretModeErr(true, perm, owner{user: true, group: true})
		require.Error(t, err, "%04o: its own file, readable by a group it is in, the proxy not root", perm)
		assert.Contains(t, err.Error(), "chmod 600", "%04o", perm)
		assert.NoError(t, secretModeErr(true, perm, owner{user: true, group: true, root: true}), "%04o: root in the fsGroup", perm)
		assert.Error(t, secretModeErr(true, perm, owner{user: true, root: true}), "%04o: root, a group it is not in", perm)
	}
}
