// Package connerr tells the system errors of a connection the server
// reset, closed or refused, as the net package wraps them, on every
// system: ECONNRESET, EPIPE and ECONNREFUSED on Unix, Windows Sockets' own
// on Windows (WSAECONNRESET and its kin, which no errors.Is of
// syscall.ECONNRESET matches), none on Plan 9 (whose network errors are
// strings, and whose syscall package names none of these). The errors are
// held as errors, so that a check allocates nothing: an errors.As into a
// syscall.Errno moves it to the heap at every call that fails. Shared by
// the memcached and Redis stores.
package connerr
