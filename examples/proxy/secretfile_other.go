//go:build !unix

package main

import "io/fs"

// filePerms says whether files have Unix permission bits that other users'
// access depends on: not here (Windows: access is by ACL), and
// secretModeErr checks nothing.
const filePerms = false

// ownerOf is the zero owner where files have no Unix owner.
func ownerOf(fs.FileInfo) owner { return owner{} }
