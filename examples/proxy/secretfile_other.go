//go:build !unix

package main

import "io/fs"

// filePerms says whether files have Unix permission bits that other users'
// access depends on: not here (Windows: access is by ACL), and
// secretModeErr checks nothing.
const filePerms = false

// ownedByMe is false where files have no Unix owner.
func ownedByMe(fs.FileInfo) bool { return false }
