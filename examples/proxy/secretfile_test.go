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
// write, and one of its own user's the group can, as ssh refuses a
// private key's.
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
		{0o644, false}, {0o604, false}, {0o602, false}, {0o640, false}, {0o620, false}, {0o660, false},
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
		assert.NotContains(t, err.Error(), secret[:10], "the error tells no part of the secret")
	}
}

// TestSecretModeErr runs the check with and without Unix permission bits,
// and for a file of another user (root:proxy 0640, shared with the group on
// purpose).
func TestSecretModeErr(t *testing.T) {
	assert.NoError(t, secretModeErr(true, 0o600, true))
	assert.NoError(t, secretModeErr(true, 0o640, false), "another user's, shared with a group")
	assert.Error(t, secretModeErr(true, 0o640, true), "the proxy's own, readable by its group")
	assert.Error(t, secretModeErr(true, 0o644, false), "readable by any user")
	assert.NoError(t, secretModeErr(false, 0o666, true), "no Unix permission bits (Windows)")
}
