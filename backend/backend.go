// Package backend defines the contract between the caching package and the
// stores it keeps entries in.
//
// A Backend stores byte values under string keys with a time to live. It knows
// nothing of entries, tags, codecs or HTTP: everything typed lives above it, in
// package caching. The stores shipped with the module live in the packages
// below this one (simple, null, filesystem, redis, memcached, and near, a
// near cache in front of a remote store); a user's own store implements
// Backend and proves it with backendtest.Run.
//
// # Time to live
//
// A ttl > 0 expires the entry after ttl; a ttl of 0 means the entry never
// expires (it may still be evicted by a bounded store). A negative ttl is a
// caller's bug: the caching package rejects it before a backend sees it, and
// backends return ErrInvalidTTL if they are called with one directly.
//
// # Optional capabilities
//
// A backend may also implement GetManyer, SetManyer, Incrementer, Haser,
// DeleteCounter, Statser, Discarder, ValueStore, NearCache and, with
// NearCache, NearResizer. The caching package finds them by type assertion
// and falls back to the plain methods (correctly, but in more round trips,
// or without atomicity where noted) when a backend does not offer them. It
// does not use Haser: Cache.Has reads the entry, whose tags and expiry
// decide; the near cache does, and so may a program that calls a backend
// directly.
//
// # Concurrency
//
// Every Backend must be safe for concurrent use by multiple goroutines.
package backend

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors a backend returns. Test for them with errors.Is: backends wrap them
// with context of their own.
var (
	// ErrNotFound reports a miss: the key is absent or its entry expired.
	ErrNotFound = errors.New("backend: not found")
	// ErrInvalidTTL reports a negative time to live.
	ErrInvalidTTL = errors.New("backend: negative ttl")
	// ErrNotInteger reports an Incr on a value that is not a decimal integer.
	ErrNotInteger = errors.New("backend: value is not an integer")
	// ErrValueTooLarge reports a value over the store's size limit for one item
	// (the simple store's MaxBytes, memcached's item size), or one the store
	// has no room for now (memcached out of memory, Redis's OOM under
	// maxmemory, a full disk under the filesystem store). Nothing is stored, and a Set so refused removes the
	// older value (see Backend.Set). It is an answer of the store, not a
	// failure: a Cache's circuit breaker does not count it.
	ErrValueTooLarge = errors.New("backend: value too large")
	// ErrClosed reports a call on a backend after Close.
	ErrClosed = errors.New("backend: closed")
	// ErrServerDown reports a call refused at once, without contacting
	// anything, because the server that holds its key is marked down (it
	// failed several calls in a row: memcached marks such a server down
	// for a cool-down, and the Redis store so marks a Redis Cluster
	// master); the store's other servers go on serving. It says
	// nothing of the store as a whole: the caching package's circuit
	// breaker counts it neither as a success nor as a failure (the
	// failures that marked the server down counted already), and fails
	// open for the call. A store refuses with an error that does not wrap
	// ErrServerDown once every one of its servers is marked down.
	ErrServerDown = errors.New("backend: server marked down")
	// ErrKeyRefused reports a call that the server of its key answered
	// with an error while it goes on answering other keys normally: a
	// proxy in front of several servers (mcrouter, twemproxy, memcached's
	// proxy mode) answers so for the keys of an upstream that is dead; the
	// filesystem store, for an entry file this process may not read; the
	// Redis store, without sending it, for a key longer than its server
	// reads (proto-max-bulk-len). The store is up: the caching package's circuit breaker counts the call
	// neither as a success nor as a failure, and the call fails open (it
	// counts in the Cache's Stats.Errors, as any error swallowed so). A
	// server whose every reply is an error is down, and its errors are no
	// ErrKeyRefused: they count as failures (memcached then marks it down:
	// see ErrServerDown).
	ErrKeyRefused = errors.New("backend: key refused by its server")
	// ErrInvalidOption is wrapped by every error a backend's constructor
	// returns for invalid options; the text names the field and the valid
	// range.
	ErrInvalidOption = errors.New("backend: invalid option")
	// ErrWatchRefused is wrapped by the error of a remote store's watch of
	// invalidations (backend/near's Watcher: Err, a near Store's
	// Stats.WatchError) when the server refuses the watch itself: the
	// user's ACL does not permit one of its commands (Redis's NOPERM), the
	// server does not know one (renamed or disabled, as some managed
	// services do with CLIENT, or too old), the server refuses the
	// client's credentials, or it (or a proxy) does not speak the watch's
	// protocol (Redis's NOPROTO, a syntax error). Trying again gets the same answer until the
	// server's configuration changes: the near cache stays out of use. A
	// server that cannot be reached, or a connection lost, is not a
	// refusal.
	ErrWatchRefused = errors.New("backend: watch refused")
)

// Neutral reports whether err is a refusal that says nothing of the store as
// a whole: a call refused at once because the server of its key is marked
// down (ErrServerDown), or one the server of its key answered with an error
// while it answers other keys normally (ErrKeyRefused). The caching
// package's circuit breaker counts such a call neither as a success nor as
// a failure. A call on many keys that fails for several reasons reports a
// real failure (one for which Neutral is false) ahead of a neutral one, so
// that the breaker sees it. Neutral(nil) is false.
func Neutral(err error) bool {
	return errors.Is(err, ErrServerDown) || errors.Is(err, ErrKeyRefused)
}

// Backend is the contract every store implements. Keys are arbitrary strings
// (a backend that cannot store some keys as they are, such as memcached,
// maps them to keys it can store, without collisions); values are bytes.
//
// A backend must not keep a reference to a value passed to Set or Add after
// the call returns unless it documents that callers must not modify it, and a
// slice returned by Get or GetMany may be read-only: callers that want to
// modify it copy it first (the caching package never modifies one). The
// backend, in turn, must never write to a slice it has returned (a pooled
// read buffer must be copied out before it is reused): callers may keep it
// as long as they like, as the near cache keeps a remote reply as its
// entry's value.
type Backend interface {
	// Get returns the value stored under key, or an error wrapping ErrNotFound
	// if there is none or it expired.
	Get(ctx context.Context, key string) ([]byte, error)
	// Set stores value under key for ttl (0: no expiry), replacing any entry.
	// A value over the store's limit for one item gets an error wrapping
	// ErrValueTooLarge and removes any entry under key, so that a refused
	// write never leaves the value it was to replace readable (backendtest
	// checks it given Options.TooLarge).
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Add stores value under key only if no live entry exists (an expired
	// entry counts as absent). It reports whether it stored the value. Stores
	// that can make this atomic do; the others document that they cannot.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error)
	// Delete removes the keys. Keys that are absent are not an error.
	Delete(ctx context.Context, keys ...string) error
	// Clear removes every entry of this backend's namespace, and nothing
	// outside it: never the whole Redis database or memcached server unless
	// the backend was explicitly configured to do so.
	Clear(ctx context.Context) error
	// Close releases the backend's resources and stops its goroutines. It is
	// idempotent. Calls after Close return ErrClosed.
	Close() error
}

// Item is one key and value for SetMany.
type Item struct {
	Key   string
	Value []byte
	TTL   time.Duration
}

// GetManyer is implemented by backends that fetch several keys in one round
// trip. GetMany returns one slot per key, in order: nil for a miss, the value
// otherwise (an empty value is a non-nil, empty slice). An error means the
// whole call failed, unless it is a *GetManyError: then the values are
// those of the keys that were read, and the error says which were not.
type GetManyer interface {
	GetMany(ctx context.Context, keys []string) ([][]byte, error)
}

// GetManyError is the error of a GetMany that read some of its keys and not
// the others (a backend of several servers with one of them down): the
// values it returns with it are those read, nil for the keys in Unread as
// for a miss. It wraps the error of the keys not read (the first real
// failure, rather than a neutral one when there are both: see Neutral), so
// that errors.Is sees it as it would the whole call's error.
type GetManyError struct {
	// Unread holds the indexes, in keys and ascending, of the keys not read.
	Unread []int
	// Keys is the number of keys of the call.
	Keys int
	// Err is the error of the keys not read.
	Err error
}

func (e *GetManyError) Error() string {
	return fmt.Sprintf("%v (%d of %d keys not read)", e.Err, len(e.Unread), e.Keys)
}

func (e *GetManyError) Unwrap() error { return e.Err }

// SetManyer is implemented by backends that store several items in one round
// trip. SetMany is not atomic: on error, some items may have been stored.
type SetManyer interface {
	SetMany(ctx context.Context, items []Item) error
}

// Incrementer is implemented by backends with atomic counters. Incr adds
// delta (which may be negative) to the decimal integer stored under key and
// returns the new value. A missing key counts as 0 and is created without
// expiry; an existing key keeps its expiry. A value that is not a decimal
// integer as strconv.FormatInt writes it (as Redis's INCRBY reads one: no
// '+' sign, no leading zero, no "-0", no blanks) gives an error wrapping
// ErrNotInteger and is left as it was.
type Incrementer interface {
	Incr(ctx context.Context, key string, delta int64) (int64, error)
}

// Haser is implemented by backends that can tell whether a key is present
// without transferring its value.
type Haser interface {
	Has(ctx context.Context, key string) (bool, error)
}

// DeleteCounter is implemented by backends that can tell how many keys a
// delete removed. DeleteCount removes keys as Delete does and returns how
// many of them held a live entry (not expired) just before: a key given
// twice counts once, an absent key not at all. On error, some keys may have
// been removed: the count is then of those the backend knows it removed
// (the keys of the servers that answered, where some of several failed),
// 0 where it knows of none, never more than were removed.
type DeleteCounter interface {
	DeleteCount(ctx context.Context, keys ...string) (int, error)
}

// Discarder is implemented by a backend that keeps nothing it is given
// (backend/null): Discards reports true. A Cache in front of one then knows
// that a key it wrote and cannot read back was never kept, not deleted by
// another writer (an invalidation).
type Discarder interface {
	Discards() bool
}

// Stats is what a backend knows of itself. Fields a backend cannot know are
// -1.
type Stats struct {
	Entries   int64 // live entries, or -1
	Bytes     int64 // bytes held by values, or -1
	Evictions int64 // entries removed to make room (not expiry), or -1
}

// Statser is implemented by backends that report Stats.
type Statser interface {
	Stats() Stats
}

// ValueStore is implemented by in-process stores that can hold Go values
// without encoding them. The caching package uses it to keep decoded entries
// in memory, so that a hit on an in-process store decodes nothing.
//
// Values stored with StoreValue are not visible to Get (Get of such a key
// reports ErrNotFound) and values stored with Set are not visible to
// LoadValue. Delete, Clear, expiry and eviction apply to both. Values are
// shared by every caller that loads them: they must be treated as read-only.
type ValueStore interface {
	// LoadValue returns the value stored under key, if any.
	LoadValue(key string) (v any, ok bool)
	// LoadValueAt is LoadValue for a caller that has just read the clock:
	// now is time.Now() as the caller read it, so that the store need not
	// read the clock again to check expiry (a clock read can cost as much
	// as the rest of a hit on a virtual machine). A store whose clock is
	// not time.Now ignores now.
	LoadValueAt(key string, now time.Time) (v any, ok bool)
	// StoreValue stores v under key for ttl (0: no expiry); size is what v
	// counts against the store's byte bound.
	StoreValue(key string, v any, size int, ttl time.Duration) error
	// AddValue stores v only if no live entry exists under key, and reports
	// whether it did. It is atomic.
	AddValue(key string, v any, size int, ttl time.Duration) (bool, error)
}

// NearCache is implemented by a backend that keeps, in process memory, what
// the caching package decoded from the remote store it wraps (backend/near
// does), and drops it when any process changes it. The caching package looks
// a key up near first and reads nothing remote when it finds it there; after
// a remote read it keeps what it decoded (entries, tag versions) with
// StoreNear. Writes go through the backend's Backend methods, which drop
// the keys they change, whether the remote write succeeds or not; a write
// the caching package does not make at all (its circuit breaker refused
// it, or its context had already ended) drops them with DropNear or
// EmptyNear instead, so that a process never serves from memory what it
// meant to change.
//
// Values kept near are shared by every caller that loads them: they must be
// treated as read-only.
type NearCache interface {
	// LoadNear returns the value kept near under key, if any. now is
	// time.Now() as the caller read it, or zero: a near cache whose clock
	// is time.Now may use it instead of reading the clock again.
	LoadNear(key string, now time.Time) (v any, ok bool)
	// NearToken returns the token to take before a remote read whose
	// results the caller will keep with StoreNear.
	NearToken() NearToken
	// StoreNear keeps v under key for at most ttl (0: as long as the near
	// cache allows), unless key changed, or the near cache was emptied or
	// lost its source of invalidations, after t was taken: then it keeps
	// nothing, so that a value read before a change is never kept past the
	// news of the change. size is what v counts against the near cache's
	// byte bound.
	StoreNear(key string, v any, size int, ttl time.Duration, t NearToken)
	// DropNear removes keys from memory, and refuses what a read that
	// began before keeps of them, as a write of them through the Backend
	// methods would; it writes nothing remote.
	DropNear(keys ...string)
	// EmptyNear removes every key from memory, and refuses what a read
	// that began before keeps, as Clear would; it clears nothing remote.
	EmptyNear()
}

// NearResizer is implemented by a NearCache that can change what a value it
// keeps counts against its byte bound (backend/near does). The caching
// package keeps an entry near before any reader decodes its payload, so it
// can only guess what the decoded value will hold; the reader that decodes
// it first measures the entry with its value and calls ResizeNear, so that
// the near cache's byte bound counts the decoded values it keeps too. A
// NearCache without it keeps counting the size given to StoreNear.
type NearResizer interface {
	// ResizeNear makes v, kept under key by StoreNear, count size against
	// the byte bound, and reports whether it did. It does nothing and
	// reports false unless key still keeps that very value (the same
	// pointer; values are matched by identity, never compared with ==):
	// a resize after key changed, was dropped or was kept anew is
	// refused. A value that no longer fits the bound for one value is
	// dropped, and the call reports false.
	ResizeNear(key string, v any, size int) bool
}

// NearToken is what a NearCache hands out before a remote read (NearToken)
// and takes back with what the read returned (StoreNear). The near cache
// gives its fields their meaning; callers only pass tokens back.
type NearToken struct {
	// Seq is the near cache's count of invalidations when the token was
	// taken; 0 means the near cache keeps nothing now.
	Seq uint64
	// At is when the token was taken, in nanoseconds on the near cache's
	// clock from an origin of its choosing (backend/near: since its Store
	// was made, on the monotonic clock plus the time the machine was
	// suspended by default): the age of what StoreNear keeps counts from
	// it.
	At int64
}

// CheckTTL returns an error wrapping ErrInvalidTTL if ttl is negative.
// Backends call it first in Set, Add and SetMany.
func CheckTTL(ttl time.Duration) error {
	if ttl < 0 {
		return ErrInvalidTTL
	}
	return nil
}
