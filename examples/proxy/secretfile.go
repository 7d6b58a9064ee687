package main

import (
	"fmt"
	"io"
	"io/fs"
	"os"
)

// readSecretFile returns the contents of the variant key secret's file,
// refusing, as ssh does a private key's, one whose permissions let other
// users at it (see secretModeErr): whoever reads the secret can test
// guesses of the credentials the backend's keys are hashes of, and whoever
// writes it can choose it. The mode is the open file's, so that it is the
// file read.
func readSecretFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("proxy: -variant-key-secret-file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err == nil {
		err = secretModeErr(filePerms, fi.Mode().Perm(), ownedByMe(fi))
	}
	if err != nil {
		return nil, fmt.Errorf("proxy: -variant-key-secret-file %s: %w", name, err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("proxy: -variant-key-secret-file: %w", err)
	}
	return b, nil
}

// secretModeErr returns the error for a secret file of mode perm, nil if
// it is private enough: others may have no access, and the group none
// either when the file is the proxy's own user's (mine), as ssh checks a
// private key's; a file of another user (root's) readable by a group is
// taken for a secret shared with the group on purpose (root:proxy 0640).
// perms says whether files have Unix permission bits (filePerms): where
// they do not (Windows), nothing is refused.
func secretModeErr(perms bool, perm fs.FileMode, mine bool) error {
	switch {
	case !perms:
		return nil
	case perm&0o007 != 0:
		return fmt.Errorf("mode %04o lets any user at the secret; chmod 600 it (Kubernetes: the secret volume's defaultMode 0400, and the pod's fsGroup when the proxy does not run as root)", perm)
	case mine && perm&0o070 != 0:
		return fmt.Errorf("mode %04o lets the group at the secret; chmod 600 it", perm)
	}
	return nil
}
