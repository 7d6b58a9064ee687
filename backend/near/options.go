package near

import (
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-caching/caching/backend"
)

// DefaultMaxStale is the age past which a value is never served from the
// near cache when Options.MaxStale is 0.
const DefaultMaxStale = time.Second

// Options configures a Store. The zero value of every field means its
// default, so Options{} is a valid configuration.
type Options struct {
	// MaxEntries bounds the number of values kept in process memory (entries
	// and tag versions). Default backend/simple's DefaultMaxEntries
	// (100,000). Negative is an error.
	MaxEntries int
	// MaxBytes bounds the bytes kept in process memory, counted as the
	// caching package sizes what it keeps (an entry's key, payload and
	// decoded value). Default backend/simple's DefaultMaxBytes (64 MiB).
	// Negative is an error.
	MaxBytes int64
	// MaxStale is the longest a value is served from process memory,
	// counted from the moment the remote read that fetched it began: past
	// it the value is read from the remote store again, whatever happened
	// to the invalidations. It is the whole staleness bound on a remote
	// store that sends no invalidations (memcached), except after another
	// process's Clear on memcached: GenerationTTL plus MaxStale (see the
	// package doc). Default
	// DefaultMaxStale (1s). Negative is an error.
	MaxStale time.Duration
	// Clock returns the current time; tests inject a fake one to move
	// MaxStale by hand. Only the differences between its readings matter.
	// Default time.Now, whose differences are read on the monotonic clock:
	// a step of the wall clock during a remote read neither lengthens nor
	// shortens MaxStale. The time the machine was suspended, which the
	// monotonic clock does not count, is counted too (the wall clock's
	// progress past it, as backend/simple's TTLs count it): a value read
	// before a suspend is not kept, or not served, MaxStale after the
	// resume. An injected clock's readings are taken as they are; one that
	// goes back while a read runs counts as no time passed.
	Clock func() time.Time
	// Logger receives a record when the near cache goes out of use because
	// the watch of the remote store failed (Warn, with the error
	// Stats.WatchError holds and refused: whether it wraps
	// ErrWatchRefused), when a failure turns into a refusal or back, and
	// when the near cache is in use again after such a record (Info): one
	// record per change, not one per attempt, and at most 3 a minute
	// after a burst of 3 (a watch that is lost again and again), with the
	// number held back. A watch being established (WatchError nil) logs
	// nothing, nor does a remote store that is not a Watcher. Default nil:
	// no records; Stats says the same.
	Logger *slog.Logger
}

func (o Options) validate() error {
	switch {
	case o.MaxEntries < 0:
		return fmt.Errorf("near: Options.MaxEntries is %d; want 0 (the default) or more: %w", o.MaxEntries, ErrInvalidOption)
	case o.MaxBytes < 0:
		return fmt.Errorf("near: Options.MaxBytes is %d; want 0 (the default) or more: %w", o.MaxBytes, ErrInvalidOption)
	case o.MaxStale < 0:
		return fmt.Errorf("near: Options.MaxStale is %v; want 0 (%v) or positive: %w", o.MaxStale, DefaultMaxStale, ErrInvalidOption)
	}
	return nil
}

// Watcher is implemented by a remote store that can tell a process which of
// its keys any client changes: backend/redis's Store does, with Redis's
// server-assisted client-side caching (CLIENT TRACKING in broadcast mode).
// New watches a remote store that implements it.
//
// WatchInvalidations starts watching and returns at once; the watch runs
// until the returned Closer is closed. It reports through two functions,
// which it may call from goroutines of its own (changed concurrently with
// itself; state never concurrently with itself):
//
//   - changed(keys): the keys (as the Backend methods name them) were
//     written, deleted, expired or evicted by some client; nil keys: any key
//     may have changed (a database was flushed: on Redis, any database of
//     the server).
//   - state(true): from now on every change is reported through changed.
//     state(false): changes may go unreported from now until the next
//     state(true). The watch starts in the state false. state(false) may
//     also come again while not watching, after each failed attempt, so
//     that the Store reads Err's new value (to log a refusal at start):
//     it changes nothing else.
//
// The returned Closer may also have a method Err() error, safe for
// concurrent use and to call from state (the Store calls it there, to log
// the error), that says why the watch is not established (the error
// of its last attempt, or of the connection it lost; nil while watching):
// NearStats reports it as WatchError, and WaitWatching's error wraps it.
// backend/redis's does.
type Watcher interface {
	WatchInvalidations(changed func(keys []string), state func(watching bool)) (io.Closer, error)
}

// Stats is what a Store counts of its near cache. The counters are read one
// at a time, not as an atomic snapshot.
type Stats struct {
	// Hits and Misses count the keys looked up in process memory (an entry
	// and each of its tag versions count one each).
	Hits, Misses int64
	// Kept counts the values kept after a remote read; Refused those not
	// kept because a change, an emptying or a loss of the invalidations
	// came after the read began, or they were older than MaxStale.
	Kept, Refused int64
	// Invalidations counts the keys dropped on news from the remote store
	// that some client changed them (the Store's own writes not included).
	Invalidations int64
	// Emptied counts the times the near cache was emptied: the
	// invalidations were lost or came back, a database was flushed (on
	// Redis any database of the server, see the package doc), or
	// Clear was called.
	Emptied int64
	// Watching reports whether the near cache is in use: invalidations
	// arrive (always true for a remote store that is not a Watcher). While
	// it is false every read goes to the remote store; WatchError says
	// why, or is nil while the watch is being established.
	Watching bool
	// WatchError says why Watching is false, where the watch tells (see
	// Watcher; backend/redis's does): the error of its last attempt to
	// watch, or of the connection it lost. nil while Watching, and once
	// the Store is closed. nil too while a server is being watched for the
	// first time and its first attempt has not ended: at start, and, on a
	// Redis Cluster, when a master appears (a new node, a replica a
	// failover promoted) while the others are watched: Watching turns
	// false at once, since changes made there may go unreported, and
	// stays false with a nil WatchError until that master's first attempt
	// is established (usually within a round trip) or fails (WatchError
	// then says why). So Watching false with a nil WatchError is a watch
	// being established, not a failure. An error that wraps
	// ErrWatchRefused (the server refuses the watch: an ACL without
	// CLIENT TRACKING, a renamed command, a wrong password) stays until
	// the server's configuration changes, and the near cache is never
	// used meanwhile: monitor it with Watching, or errors.Is.
	WatchError error
	// Entries, Bytes and Evictions are those of the process memory
	// (backend/simple's Stats).
	Entries, Bytes, Evictions int64
}

var _ backend.Backend = (*Store)(nil)
