package connerr

// Broken is Broken of connerr.go, whose errors Plan 9's syscall package
// lacks: its network errors are strings. It reports false: a connection
// the server closed reads io.EOF there, which callers tell on their own.
func Broken(error) bool { return false }

// Refused is Refused of connerr.go: false on Plan 9, as Broken.
func Refused(error) bool { return false }
