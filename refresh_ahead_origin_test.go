package caching

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
)

// failingOrigin is a memoized function's origin that a test makes fail: it
// counts its runs, and returns "result #n" (n its run) or, while fail is
// set, an error.
type failingOrigin struct {
	fail atomic.Bool
	runs atomic.Int64
}

// memoizeFailing memoizes a failingOrigin under name on c, with opts.
func memoizeFailing(c *Cache, name string, opts ...MemoOption) (*Memoized[int, string], *failingOrigin) {
	o := new(failingOrigin)
	return Memoize(c, name, func(context.Context, int) (string, error) {
		n := o.runs.Add(1)
		if o.fail.Load() {
			return "", errors.New("origin down")
		}
		return fmt.Sprintf("result #%d", n), nil
	}, opts...), o
}
