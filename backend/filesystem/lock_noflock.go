//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package filesystem

import "os"

// tryFlock does nothing where advisory file locks are not available: Add and
// Incr are then atomic only within one process.
func tryFlock(f *os.File) (bool, error) { return true, nil }

func funlock(f *os.File) error { return nil }
