//go:build unix

package main

import (
	"io/fs"
	"os"
	"slices"
	"syscall"
)

// filePerms says whether files have Unix permission bits that other users'
// access depends on (secretModeErr checks them).
const filePerms = true

// ownerOf tells whose the file of fi is: the process's effective user's,
// of a group the process is in; and whether the process runs as root.
func ownerOf(fi fs.FileInfo) owner {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return owner{}
	}
	euid := os.Geteuid()
	return owner{user: int(st.Uid) == euid, group: inGroup(int(st.Gid)), root: euid == 0}
}

// inGroup reports whether gid is the process's effective group or one of
// its supplementary groups.
func inGroup(gid int) bool {
	if gid == os.Getegid() {
		return true
	}
	groups, err := os.Getgroups()
	return err == nil && slices.Contains(groups, gid)
}
