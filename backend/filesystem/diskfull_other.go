//go:build !unix && !windows

package filesystem

// noSpace reports an error of a write refused for want of room on the
// disk: none is told apart where the store does not know the system's
// errors for it (they count as any other failure of a write).
func noSpace(error) bool { return false }
