//go:build unix

package main

import (
	"io/fs"
	"os"
	"syscall"
)

// filePerms says whether files have Unix permission bits that other users'
// access depends on (secretModeErr checks them).
const filePerms = true

// ownedByMe reports whether fi is of a file the process's effective user
// owns.
func ownedByMe(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == os.Geteuid()
}
