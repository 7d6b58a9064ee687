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
		err = secretModeErr(filePerms, fi.Mode().Perm(), ownerOf(fi))
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

// owner tells whose a file is, as the process sees it: user, the
// process's effective user's; group, of a group the process is in (its
// effective group or a supplementary one); root, the process runs as root
// (effective user 0).
type owner struct{ user, group, root bool }

// secretModeErr returns the error for a secret file of mode perm, nil if
// it is private enough: others may have no access; and when the file is
// the proxy's own user's (o.user), its group may not write it, nor read it
// unless the proxy runs as root (o.root) and the group is one of its
// (o.group). ssh refuses a private key its group may read at all; but a
// Kubernetes secret volume of a pod with an fsGroup makes the file root's,
// of the fsGroup, 0440 at least (the kubelet adds the group's read to
// defaultMode), and the fsGroup one of the groups of every process of the
// pod: a proxy run as root could take no mode of it, where a proxy of
// another user took the same file. A proxy of another user can chmod 600
// a file of its own, and its being in the group tells nothing of who else
// is (every user's primary group is staff on macOS, users on SUSE): its
// own file readable by its group stays refused. A file
// of another user (root's) that a group may read or write is taken for a
// secret shared with the group on purpose (root:proxy 0640). perms says
// whether files have Unix permission bits (filePerms): where they do not
// (Windows), nothing is refused.
func secretModeErr(perms bool, perm fs.FileMode, o owner) error {
	switch {
	case !perms:
		return nil
	case perm&0o007 != 0:
		return fmt.Errorf("mode %04o lets any user at the secret; chmod 600 it (Kubernetes: the secret volume's defaultMode 0400, and the pod's fsGroup when the proxy does not run as root)", perm)
	case o.user && perm&0o020 != 0:
		return fmt.Errorf("mode %04o lets the group write the secret; chmod 600 it", perm)
	case o.user && perm&0o040 != 0 && !(o.root && o.group):
		return fmt.Errorf("mode %04o lets the group read the secret; chmod 600 it", perm)
	}
	return nil
}
