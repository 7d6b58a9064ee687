//go:build !unix

package filesystem

import (
	"io/fs"
	"os"
)

// unixPerms says whether files have Unix permission bits that other users'
// access depends on: not here (checkGroupShare checks nothing).
const unixPerms = false

// trust is a no-op where there are no Unix owners and permission bits
// (Windows: access is by ACL, which the store does not inspect). Every
// directory and file is trusted, as before the check existed.
type trust struct{}

func newTrust(_, _ fs.FileMode) trust { return trust{} }

func (*trust) file(fs.FileInfo) bool { return true }

func (*trust) tighten(*os.File, fs.FileInfo) {}

func (*trust) dir(string, fs.FileInfo, bool) error { return nil }
