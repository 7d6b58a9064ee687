package caching

import "time"

// Observer is told of the calls a Cache makes to its backend's byte methods
// (Options.Observer): a metrics package turns what it is told into a
// latency histogram by operation. On a store that is not in-process
// (Redis, memcached, the filesystem, and the remote calls of a near cache)
// that is every call. An in-process store (backend/simple, the default: a
// backend.ValueStore) keeps the entries of views, Memoize, fragments and
// the typed and direct APIs as Go values, through LoadValue, StoreValue
// and AddValue, which are not observed; only its byte calls are (integers:
// Incr's counters and what Set or SetAs write as one; deletes and
// invalidations, Clear, and reads that find no Go value), so a memoized
// hit or miss there is told of nothing. Nor are a near cache's reads and
// writes of its own memory (backend.NearCache).
//
// It is called after each call, on the goroutine that made it,
// concurrently with other calls: it must be safe for concurrent use, and
// fast. Calls the circuit breaker refuses are not made, so not observed.
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
