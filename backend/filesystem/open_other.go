//go:build !unix

package filesystem

import "os"

// openFlags are added to every open of a file in the namespace: none where
// there are no FIFOs at ordinary paths (Windows' named pipes live in their
// own namespace) nor O_NOFOLLOW. The store checks what it opened with
// File.Stat either way.
const openFlags = 0

// unlink removes the file at path but never a directory (see open_unix.go).
func unlink(path string) error {
	if fi, err := os.Lstat(path); err == nil && fi.IsDir() {
		return nil
	}
	return os.Remove(path)
}

// syncDir does nothing: a directory cannot be opened for fsync on Windows
// (NTFS journals its metadata), nor on Plan 9 or WebAssembly.
func syncDir(string) error { return nil }
