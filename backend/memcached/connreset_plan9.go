package memcached

// connBroken is connBroken of connreset.go, whose errors (ECONNRESET,
// EPIPE) Plan 9's syscall package lacks: its network errors are strings.
// It reports false: a connection the server closed reads io.EOF there,
// which dropped tells on its own.
func connBroken(error) bool { return false }
