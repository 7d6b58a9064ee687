//go:build unix

package filesystem

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

// openFlags are added to every open of a file in the namespace. O_NONBLOCK:
// opening a FIFO someone put at an entry's path returns at once instead of
// waiting for a writer (reads of regular files ignore it). O_NOFOLLOW: a
// symbolic link at an entry's path is refused, never followed.
const openFlags = syscall.O_NONBLOCK | syscall.O_NOFOLLOW

// unlink removes the file at path, a symbolic link itself (never what it
// points to), but never a directory: a directory at an entry's path is not
// the store's, and is left alone (nil).
func unlink(path string) error {
	err := syscall.Unlink(path)
	if err == nil {
		return nil
	}
	if fi, lerr := os.Lstat(path); lerr == nil && fi.IsDir() {
		return nil
	}
	return &fs.PathError{Op: "unlink", Path: path, Err: err}
}

// syncDir fsyncs the directory dir, so that the names made or replaced in
// it (a rename into place, a new subdirectory) survive a power failure. A
// file system that cannot fsync a directory (EINVAL, ENOTSUP) is not an
// error: nothing more can be done there.
func syncDir(dir string) error {
	f, err := os.OpenFile(dir, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) {
		return nil
	}
	return err
}
