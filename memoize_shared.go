package caching

import (
	"hash/maphash"
	"reflect"
	"sync"
	"sync/atomic"

	"github.com/go-caching/caching/internal/flight"
)

// What the Memoized values of one name in a Cache share besides their
// entries: the epochs that keep a computation in flight from storing a
// result after Forget, ForgetAll, Set or Refresh, and the computations in
// flight. One function memoized twice under one name (two packages memoize
// one loader) shares its entries, so a Forget through one must stop the
// other's computation too, and a Get through either after it returned must
// not join one that began before.

// epochStripes is how many epochs a name spreads its keys over: a Forget of
// one key stops the computations in flight of the keys of its stripe only
// (1/256th of the others), and the memory is bounded whatever the number
// of keys.
const epochStripes = 256

// memoShared is what the Memoized values of one name share (see above), kept
// in the Cache's registry (registry.memo), so that each name has one.
type memoShared struct {
	// saveMu orders a computation's check of its epoch and its store (or
	// delete) against a change of the epoch: a store that began before the
	// change ends before the change returns; one that begins after finds
	// the epoch changed and stores nothing.
	saveMu sync.RWMutex
	// all changes with every ForgetAll; epochs[keyStripe(key)] with every
	// Forget, Set and Refresh of key.
	all    atomic.Uint64
	epochs [epochStripes]atomic.Uint64

	// groups are the computations in flight, one flight.Group[string,
	// epoched[R]] for each result type R: the Memoized of one name and one
	// result type join each other's computations of a key (their entries
	// are one), but a caller never gets a result of another type than its
	// own (two types of one shape share a key).
	mu     sync.Mutex
	groups map[reflect.Type]flightForgetter
}

// flightForgetter is a flight.Group of any result type, as Forget reaches it.
type flightForgetter interface {
	Forget(key string)
	ForgetAll()
}

// memoEpoch is the epoch of one key when a computation of it began: it
// stores its result only if the epoch is still current (memoShared.current).
type memoEpoch struct {
	stripe *atomic.Uint64
	n, all uint64
}

// epochSeed seeds the hash of a key to its stripe (keyStripe).
var epochSeed = maphash.MakeSeed()

// keyStripe is the stripe of epochs that key's epoch is in.
func keyStripe(key string) int { return int(maphash.String(epochSeed, key) % epochStripes) }

// epochOf returns key's epoch now, read before the computation reads the
// data its result is made of.
func (s *memoShared) epochOf(key string) memoEpoch {
	st := &s.epochs[keyStripe(key)]
	return memoEpoch{stripe: st, n: st.Load(), all: s.all.Load()}
}

// current reports whether no Forget, ForgetAll, Set or Refresh of its key
// (or of one of its stripe) began since e was read. The caller holds
// saveMu's read lock, so that none begins before it has stored.
func (s *memoShared) current(e memoEpoch) bool {
	return e.stripe.Load() == e.n && s.all.Load() == e.all
}

// supersede changes key's epoch, so that no computation of key in flight
// stores its result, and forgets those computations, so that no caller
// that comes after joins one. It returns when the computations that were
// storing have stored.
func (s *memoShared) supersede(key string) {
	s.saveMu.Lock()
	s.epochs[keyStripe(key)].Add(1)
	s.saveMu.Unlock()
	s.forget(key)
}

// supersedeAll is supersede for every key of the name.
func (s *memoShared) supersedeAll() {
	s.saveMu.Lock()
	s.all.Add(1)
	s.saveMu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		g.ForgetAll()
	}
}

// forget makes a caller of key that comes after it start a computation,
// not join one in flight (see flight.Group.Forget).
func (s *memoShared) forget(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range s.groups {
		g.Forget(key)
	}
}

// memoCalls returns the group of the computations in flight of s's
// Memoized values whose result type is R, created on first use.
func memoCalls[R any](s *memoShared) *flight.Group[string, epoched[R]] {
	t := reflect.TypeFor[R]()
	s.mu.Lock()
	defer s.mu.Unlock()
	if g, ok := s.groups[t].(*flight.Group[string, epoched[R]]); ok {
		return g
	}
	g := new(flight.Group[string, epoched[R]])
	if s.groups == nil {
		s.groups = make(map[reflect.Type]flightForgetter)
	}
	s.groups[t] = g
	return g
}

// memo returns what the Memoized values of name share, created on first
// use. Past maxNamedCounters-1 names (should a name ever come from a
// request), the others share OtherName's: their Forget then stops the
// computations of some keys of other names too (a result not stored, and
// computed again), never fewer than their own.
func (r *registry) memo(name string) *memoShared {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.memos[name]; ok {
		return s
	}
	if r.memos == nil {
		r.memos = make(map[string]*memoShared)
	}
	if len(r.memos) >= maxNamedCounters-1 {
		name = OtherName
		if s, ok := r.memos[name]; ok {
			return s
		}
	}
	s := new(memoShared)
	r.memos[name] = s
	return s
}
