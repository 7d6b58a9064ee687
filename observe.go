package caching

import "time"

// Observer is told of every call a Cache makes to its backend (Options.Observer):
// a metrics package turns what it is told into a latency histogram by
// operation. It is called after each call, on the goroutine that made it,
// concurrently with other calls: it must be safe for concurrent use, and fast.
// Calls the circuit breaker refuses are not made, so not observed.
type Observer interface {
	// ObserveBackend reports one backend call: its operation (one of the Op
	// constants), how long it took, and its error: nil, an error wrapping
	// ErrNotFound for a miss (an answer of the backend, not a failure), or
	// the failure.
	ObserveBackend(op string, d time.Duration, err error)
}

// The operations an Observer is told of.
const (
	OpGet     = "get"      // one key read
	OpGetMany = "get_many" // several keys read in one round trip (an entry and its tag versions)
	OpSet     = "set"      // one key written
	OpSetMany = "set_many" // several keys written in one round trip
	OpAdd     = "add"      // one key written if absent (new tag versions, leases)
	OpDelete  = "delete"   // keys deleted (invalidation, leases released)
	OpClear   = "clear"    // the namespace cleared
	OpIncr    = "incr"     // an atomic counter incremented
)

// start is the start of a primitive call, for observe: the zero time, and
// no clock reading, without an Observer.
func (s *store) start() time.Time {
	if s.obs == nil {
		return time.Time{}
	}
	return time.Now()
}

// observe tells the Observer of a primitive call that began at start.
func (s *store) observe(op string, start time.Time, err error) {
	if s.obs != nil {
		s.obs.ObserveBackend(op, time.Since(start), err)
	}
}
