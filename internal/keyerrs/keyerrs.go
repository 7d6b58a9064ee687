// Package keyerrs collects the errors of the keys a call on many keys (a
// backend's Delete) could not handle: the call goes on with the other keys,
// so that one key that fails (its memcached server down, its filesystem
// subdirectory locked) does not leave the others undone, and then reports
// one error, saying how many keys failed.
package keyerrs

import (
	"errors"
	"fmt"
)

// Failures is the errors of the keys that failed. The zero value has none.
// It is not safe for concurrent use.
type Failures struct {
	n          int   // keys that failed
	first      error // the error reported
	firstMinor bool  // first was added minor
}

// Add notes a key's failure with err. The error reported is the first,
// unless it was minor and err is not: a minor error (memcached's refusal of
// a server marked down, which the caching package's breaker does not count)
// must not hide a real failure that follows.
func (f *Failures) Add(err error, minor bool) {
	if f.n == 0 || f.firstMinor && !minor {
		f.first, f.firstMinor = err, minor
	}
	f.n++
}

// Join returns the failures of a delete joined with stop, the error that
// ended the call before every key was tried (a context done, a store
// closed), if any; nil if there are neither.
func (f *Failures) Join(stop error) error {
	return f.JoinAs(stop, "deleted")
}

// JoinAs is Join for a call that does what done says to its keys ("stored"):
// the error says how many other keys were not done.
func (f *Failures) JoinAs(stop error, done string) error {
	var err error
	switch f.n {
	case 0:
	case 1:
		err = f.first
	default:
		err = fmt.Errorf("%w (and %d other keys not %s)", f.first, f.n-1, done)
	}
	if stop == nil {
		return err
	}
	if err == nil {
		return stop
	}
	return errors.Join(stop, err)
}
