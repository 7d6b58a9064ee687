package caching

import "github.com/go-caching/caching/internal/flight"

// PanicError is what a caller panics with when the work it waited for, run
// once for several concurrent callers (a memoized function, GetOrSet's load),
// panicked in another goroutine. Value is the value it panicked with and
// Stack the stack of the goroutine that panicked; Unwrap returns Value when it
// is an error. Recover it with errors.As or a type assertion to *PanicError.
type PanicError = flight.PanicError
