//go:build unix

package filesystem

import (
	"fmt"
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// unixPerms says whether files have Unix permission bits that other users'
// access depends on: here they do (checkGroupShare checks them).
const unixPerms = true

// trust says which directories and files the store takes for its own: see
// the package documentation, "Directories the store trusts".
type trust struct {
	uid int
	// gids are the process's groups, nil unless Options.DirMode grants
	// group write: only then is a directory or file of another user of one
	// of them trusted.
	gids []int
	// write is the write permission Options.DirMode grants group and
	// others (0o022 at most); a directory granting more is not trusted.
	write fs.FileMode
	// fileWrite is the write permission Options.FileMode grants group and
	// others; an entry file granting more is not trusted.
	fileWrite fs.FileMode
	// fileRead is the read permission Options.FileMode grants group and
	// others; an entry file granting more has it taken away (tighten).
	fileRead fs.FileMode
	mode     fs.FileMode // Options.DirMode, for errors
}

func newTrust(dirMode, fileMode fs.FileMode) trust {
	t := trust{uid: os.Geteuid(), write: dirMode & 0o022, fileWrite: fileMode & 0o022, fileRead: fileMode & 0o044, mode: dirMode}
	if dirMode&0o020 != 0 {
		t.gids = []int{os.Getegid()}
		if gs, err := os.Getgroups(); err == nil {
			t.gids = append(t.gids, gs...)
		}
	}
	return t
}

// owned reports whether a file or directory of owner uid and group gid is
// this process's (or, with group write in Options.DirMode, its group's).
func (t *trust) owned(uid, gid uint32) bool {
	return int(uid) == t.uid || t.gids != nil && slices.Contains(t.gids, int(gid))
}

// file reports whether fi (from a stat of an entry file) is owned as
// trusted and grants no more write than Options.FileMode: whoever can
// write an entry file can plant an entry (the format has a checksum, no
// secret). It costs no system call.
func (t *trust) file(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return !ok || t.owned(st.Uid, st.Gid) && fi.Mode().Perm()&0o022&^t.fileWrite == 0
}

// tighten takes from f, an open entry file the store trusts, whose fstat is
// fi, the read permission for group and others that Options.FileMode does
// not grant: a file written under a looser FileMode (before it was
// tightened) would otherwise stay readable by them, response and all, for
// as long as it is read and never rewritten. It costs a system call only
// for such a file. Where that fails (another group member's file, which
// only its owner may change), the file is left as it is.
func (t *trust) tighten(f *os.File, fi fs.FileInfo) {
	perm := fi.Mode().Perm()
	if extra := perm & 0o044 &^ t.fileRead; extra != 0 {
		_ = f.Chmod(perm &^ extra)
	}
}

// dir returns nil when fi, from a stat of the directory (or, link true, the
// symbolic link) at path, is trusted, and an error wrapping ErrUntrustedDir
// that says why and how to fix it when it is not. It costs no system call.
func (t *trust) dir(path string, fi fs.FileInfo, link bool) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	var why string
	switch {
	case !t.owned(st.Uid, st.Gid):
		why = "another user's"
	case !link && fi.Mode().Perm()&0o022&^t.write != 0:
		why = "writable by group or others"
	default:
		return nil
	}
	what := "directory"
	want := fmt.Sprintf("owned by uid %d (this process's effective uid)", t.uid)
	if t.gids != nil {
		want += fmt.Sprintf(" or by one of its groups (Options.DirMode %04o grants group write)", t.mode)
	}
	fix := fmt.Sprintf("remove it for the store to make it anew, or fix it: chown %d %s && chmod %04o %s", t.uid, path, t.mode, path)
	if link {
		what, fix = "symbolic link", "remove the link, or make it again as this user"
	} else {
		want += fmt.Sprintf(" and not writable by group or others beyond Options.DirMode %04o", t.mode)
	}
	return fmt.Errorf("%w: %s %s, owned by uid %d, gid %d, mode %04o (%s): the store trusts only a %s %s, as whoever can write it can plant cache entries; %s",
		ErrUntrustedDir, what, path, st.Uid, st.Gid, modeBits(fi), why, what, want, fix)
}

// modeBits is fi's permission, setuid, setgid and sticky bits as chmod(1)
// takes them.
func modeBits(fi fs.FileInfo) uint32 {
	m := uint32(fi.Mode().Perm())
	if fi.Mode()&fs.ModeSetuid != 0 {
		m |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		m |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		m |= 0o1000
	}
	return m
}
