package memcached

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/go-caching/caching/backend"
)

// The package's errors read "memcached: <what failed>: <cause>", with the
// "memcached: " prefix once. gomemcache's own errors start "memcache: ",
// and an error of a step that this package made (the generation's read
// under a Get, say) starts "memcached: ": wrapped as they were, a user read
// "memcached: the namespace generation ... cannot be read ...: memcached:
// memcache: ...". A cause is therefore shown without its prefix (see
// unprefixed), and still wrapped, for errors.Is and errors.As.

// wrap translates err, an error of gomemcache's for the command op (a
// memcached command: "get", "set", ...) sent to the server at addr (""
// when the command went to several servers, as a multi-get may), into the
// package's: "memcached: <op> <addr>: <cause>", with the sentinel it stands
// for, if any (backend.ErrClosed, backend.ErrValueTooLarge), before the
// cause. A miss is backend.ErrNotFound itself; a refusal of a server marked
// down (refusedError) is the package's own already, and returned as op
// names it (refusedError.named), made when the server was marked down. A
// write whose retry surely did not run after a try that may have
// (ranError) fails with that try's error, the retry's told after it once
// (see ranError.retryText), and wraps the context's error too when the
// retry was not tried again for it (stoppedError).
// A connection closed under a call (net.ErrClosed) was closed by
// Store.Close: nothing else closes one that is in use.
func wrap(op, addr string, err error) error {
	if err == nil {
		return nil // before re, which errors.As moves to the heap: a call that succeeds allocates nothing
	}
	switch e := err.(type) {
	case *refusedError:
		return e.named(op) // PickServer's, as gomemcache returns it
	case *ranError:
		if se, ok := e.last.(*stoppedError); ok { // its caller left: told once, and wrapped
			re := &ranError{ran: e.ran, last: se.err}
			return fmt.Errorf("%w; retried: %s; not tried again: %w", wrap(op, addr, e.ran), re.retryText(op, addr), se.ctx)
		}
		return fmt.Errorf("%w; retried: %s", wrap(op, addr, e.ran), e.retryText(op, addr))
	}
	var re *refusedError
	switch {
	case errors.As(err, &re):
		return err
	case errors.Is(err, memcache.ErrCacheMiss):
		return backend.ErrNotFound
	}
	if addr != "" {
		op += " " + addr
	}
	msg := err.Error()
	cause := unprefixed(err)
	switch {
	case errors.Is(err, backend.ErrClosed):
		return fmt.Errorf("memcached: %s: %w", op, cause)
	case errors.Is(err, net.ErrClosed):
		return fmt.Errorf("memcached: %s: %w: %w", op, backend.ErrClosed, cause)
	case strings.Contains(msg, "too large"):
		return fmt.Errorf("memcached: %s: %w: %w", op, backend.ErrValueTooLarge, cause)
	case outOfMemory(msg):
		return fmt.Errorf("memcached: %s: %w: the server has no memory for it now: %w", op, backend.ErrValueTooLarge, cause)
	}
	return fmt.Errorf("memcached: %s: %w", op, cause)
}

// Prefixes that a cause is shown without: this package's and gomemcache's.
const (
	ownPrefix        = "memcached: "
	gomemcachePrefix = "memcache: "
)

// unprefixed returns err for an error of this package to wrap as its
// cause: err itself when its text starts with neither prefix, and
// otherwise err shown without it (causeError).
func unprefixed(err error) error {
	msg := err.Error()
	if !strings.HasPrefix(msg, ownPrefix) && !strings.HasPrefix(msg, gomemcachePrefix) {
		return err
	}
	return &causeError{err: err}
}

// causeText is the text of err as a cause: without this package's or
// gomemcache's prefix.
func causeText(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, ownPrefix)
	return strings.TrimPrefix(msg, gomemcachePrefix)
}

// causeError is an error shown without its package's prefix (see
// causeText), as the cause of an error of this package, which says
// "memcached: " once. It wraps the error, for errors.Is and errors.As.
type causeError struct{ err error }

func (e *causeError) Error() string { return causeText(e.err) }
func (e *causeError) Unwrap() error { return e.err }

// retryText is the text of e.last as that of the retry of the command op
// sent to addr, after e.ran's text, which wrap gives as "memcached: <op>
// <addr>: <cause>": without that start again, nor the text of
// backend.ErrServerDown (a retry refused as its server was marked down),
// which the call's error does not wrap (e.ran's try may have been run), nor
// e.ran's cause again where the refusal names it as the failure that
// marked the server down: at its end, or before the ")" that closes it in
// the refusal of every server marked down.
func (e *ranError) retryText(op, addr string) string {
	start := ownPrefix + op + ": "
	if addr != "" {
		start = ownPrefix + op + " " + addr + ": "
	}
	t := strings.TrimPrefix(wrap(op, addr, e.last).Error(), start)
	t = strings.TrimSuffix(t, ": "+backend.ErrServerDown.Error())
	ran := ", the last: " + causeText(e.ran)
	for _, end := range [...]string{"", ")"} {
		if strings.HasSuffix(t, ran+end) {
			return strings.TrimSuffix(t, ran+end) + ", the last: the same" + end
		}
	}
	return t
}
