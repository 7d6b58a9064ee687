package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
)

// stripe serialises the writers of the entries of one subdirectory: a
// one-slot semaphore within the process (a channel, so that waiting honours a
// context) and an advisory lock on the subdirectory's lock file across
// processes.
type stripe struct {
	sem chan struct{} // holds a token while the stripe is locked
	f   *os.File      // the lock file, opened on first use; guarded by sem
	// named reports that the namespace directory was fsynced after the
	// stripe's subdirectory was there (Options.Sync): its name is durable.
	named atomic.Bool
	// other holds a channel that is closed while another process is known
	// to hold the lock file (the last flock tried failed): Clear and
	// Delete, waiting in line for sem, learn from it that the line waits
	// on another process, and go past the stripe (see acquireOrSkip). A
	// nil pointer stands for an open channel not made yet.
	other atomic.Pointer[chan struct{}]
	// otherHeld reports that other's channel is closed; guarded by sem.
	otherHeld bool
}

// otherHolds returns the channel closed while another process holds the
// stripe's lock file.
func (st *stripe) otherHolds() chan struct{} {
	for {
		if p := st.other.Load(); p != nil {
			return *p
		}
		ch := make(chan struct{})
		st.other.CompareAndSwap(nil, &ch)
	}
}

// flocked records whether a flock of the lock file, just tried, was
// taken, or refused because another process holds it. The caller holds
// sem.
func (st *stripe) flocked(ok bool) {
	switch {
	case !ok && !st.otherHeld:
		st.otherHeld = true
		close(st.otherHolds())
	case ok && st.otherHeld:
		st.otherHeld = false
		st.other.Store(nil)
	}
}

// Polling bounds for a lock file another process holds: the first retry
// comes after lockPollMin, each next one after twice as long, at most
// lockPollMax.
const (
	lockPollMin = 50 * time.Microsecond
	lockPollMax = 5 * time.Millisecond
)

// lock takes e's stripe lock for a write, creating e's subdirectory and its
// lock file if they are missing. It gives up with the context's error when
// ctx is done, and with backend.ErrClosed when the store is closed, however
// long another goroutine or process holds the lock.
func (s *Store) lock(ctx context.Context, e entry) (*stripe, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filesystem: lock: %w", err)
	}
	st := &s.stripes[e.hash[0]]
	if err := s.acquire(ctx, st); err != nil {
		return nil, err
	}
	if err := s.lockFile(ctx, st, e, true); err != nil {
		<-st.sem
		return nil, err
	}
	return st, nil
}

// lockExisting is lock for a call that writes nothing (Delete): it creates
// no directory, and gives an error wrapping fs.ErrNotExist when e's
// subdirectory is missing (so is e's file, then: the index forgets it).
// It waits for this process's other goroutines in turn (see acquireOrSkip)
// and for the lock file until stripeWaitEnd(giveUp) at most, and then
// gives errStripeBusy.
func (s *Store) lockExisting(ctx context.Context, e entry, giveUp time.Time) (*stripe, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("filesystem: lock: %w", err)
	}
	st := &s.stripes[e.hash[0]]
	if err := s.acquireOrSkip(ctx, st, func() time.Time { return stripeWaitEnd(giveUp) }); err != nil {
		return nil, err
	}
	wait, cancel := context.WithDeadline(ctx, stripeWaitEnd(giveUp))
	defer cancel()
	if err := s.lockFile(wait, st, e, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// No subdirectory, so no file: forgotten while the stripe is
			// held, so that a write racing in after it is not forgotten.
			s.idx.remove(e.hash)
		}
		<-st.sem
		return nil, lockWaitErr(ctx, err)
	}
	return st, nil
}

// acquire takes st's semaphore, waiting until ctx is done or the store is
// closed.
func (s *Store) acquire(ctx context.Context, st *stripe) error {
	select {
	case st.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("filesystem: lock: %w", ctx.Err())
	case <-s.stop:
		return backend.ErrClosed
	}
}

// acquireOrSkip takes st's semaphore for Clear or Delete, waiting in line
// behind this process's other goroutines until ctx is done or the store is
// closed, however long the line (a Set, Add or Incr holds it briefly: a
// wait bounded otherwise would leave the line, take its last place again,
// and could be kept out for ever by a steady load of writes). A line
// that waits on another process (a stopped one, a hung NFS client holds
// the lock file) is waited for until end at most: if that process holds it
// still, errStripeBusy is returned, and the caller goes on past the stripe
// and comes back to it. The wait is a goroutine's, so that its place in the
// line is kept while another process holds the lock only a moment (two
// processes writing the same subdirectory).
func (s *Store) acquireOrSkip(ctx context.Context, st *stripe, end func() time.Time) error {
	select {
	case st.sem <- struct{}{}:
		return nil
	default:
	}
	got := make(chan error, 1)
	quit := make(chan struct{})
	go func() {
		select {
		case st.sem <- struct{}{}:
			got <- nil
		case <-ctx.Done():
			got <- fmt.Errorf("filesystem: lock: %w", ctx.Err())
		case <-s.stop:
			got <- backend.ErrClosed
		case <-quit:
			got <- errStripeBusy
		}
	}()
	other := st.otherHolds()
	var t *time.Timer
	var timeout <-chan time.Time
	for {
		select {
		case err := <-got:
			return err
		case <-other:
			other = nil
			if t == nil {
				t = time.NewTimer(time.Until(end()))
				defer t.Stop()
			} else {
				t.Reset(time.Until(end()))
			}
			timeout = t.C
		case <-timeout:
			timeout = nil
			select {
			case <-st.otherHolds():
				close(quit)
				if err := <-got; err == nil {
					<-st.sem // taken as it gave up: handed on
				}
				return errStripeBusy
			default: // the other process let go meanwhile: wait on
				other = st.otherHolds()
			}
		}
	}
}

// tryLock takes e's stripe lock if no other goroutine or process holds it,
// without waiting: nil, nil when one does. It is for what the store does
// on its own account (evicting, removing a bad file), which must never
// wait on another process: one stopped while it holds the lock (SIGSTOP, a
// debugger) would stop every call that waited. It creates no directory
// (see lockExisting).
func (s *Store) tryLock(e entry) (*stripe, error) {
	st := &s.stripes[e.hash[0]]
	select {
	case st.sem <- struct{}{}:
	default:
		return nil, nil
	}
	ok, err := s.flockOnce(st, e, false)
	if !ok {
		<-st.sem
		return nil, err
	}
	return st, nil
}

// lockFile flocks the stripe's lock file, polling while another process
// holds it, creating e's subdirectory if mk. The caller holds st.sem.
func (s *Store) lockFile(ctx context.Context, st *stripe, e entry, mk bool) error {
	var t *time.Timer
	for wait := lockPollMin; ; wait = min(2*wait, lockPollMax) {
		ok, err := s.flockOnce(st, e, mk)
		if err != nil || ok {
			return err
		}
		if t == nil {
			t = time.NewTimer(wait)
			defer t.Stop()
		} else {
			t.Reset(wait)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return fmt.Errorf("filesystem: lock: %w", ctx.Err())
		case <-s.stop:
			return backend.ErrClosed
		}
	}
}

// flockOnce tries once to flock the stripe's lock file, opening it if
// needed (and e's subdirectory, if mk): false when another process holds
// it. The caller holds st.sem.
func (s *Store) flockOnce(st *stripe, e entry, mk bool) (bool, error) {
	if s.closed.Load() {
		return false, backend.ErrClosed
	}
	// A subdirectory replaced by a symbolic link is not written through,
	// nor is a lock file created in what it points to.
	if err := s.realDir(e.sub); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return false, fmt.Errorf("filesystem: lock: %w", err)
	}
	for {
		if st.f == nil {
			f, err := s.openLockFile(e, mk)
			if err != nil {
				return false, fmt.Errorf("filesystem: lock: %w", err)
			}
			st.f = f
		}
		ok, err := tryFlock(st.f)
		if err == nil {
			st.flocked(ok)
		}
		if err != nil || !ok {
			if err != nil {
				err = fmt.Errorf("filesystem: lock: %w", err)
			}
			return false, err
		}
		if s.lockedAtPath(st, e) {
			return true, nil
		}
		// The file held was deleted or replaced (the subdirectories
		// removed to clear the cache): another process locks the one
		// at the path now. Lock that one instead, at once.
		_ = funlock(st.f)
		_ = st.f.Close()
		st.f = nil
	}
}

// lockedAtPath reports whether the lock file st holds is the one at its
// path: the store keeps its lock files open, and one deleted since, or
// replaced, no longer excludes the processes that open the path anew.
func (s *Store) lockedAtPath(st *stripe, e entry) bool {
	held, err := st.f.Stat()
	if err != nil {
		return false
	}
	cur, err := os.Lstat(filepath.Join(e.sub, lockName))
	return err == nil && os.SameFile(held, cur)
}

// openLockFile opens (creating it if needed) the lock file of e's
// subdirectory, and the subdirectory if mk; something other than a regular
// file in its place is an error, not followed and not waited on.
func (s *Store) openLockFile(e entry, mk bool) (*os.File, error) {
	name := filepath.Join(e.sub, lockName)
	f, err := s.openLock(name)
	if mk && errors.Is(err, fs.ErrNotExist) {
		if err = s.makeSub(e); err == nil {
			f, err = s.openLock(name)
		}
	}
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
		f.Close()
		if err == nil {
			err = &fs.PathError{Op: "open", Path: name, Err: errNotRegular}
		}
		return nil, err
	}
	return f, nil
}

// openLock opens the lock file name, creating it (with Options.FileMode)
// if it is missing. It opens it for reading and writing (nothing writes it,
// but where flock is emulated by byte-range locks, as on NFS, an exclusive
// lock needs a file open for writing), or for reading only when it may not
// be written: another user's lock file in a cache shared by a group whose
// FileMode (or umask) grants the group read but not write. flock(2) locks
// a file opened for reading as well.
func (s *Store) openLock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE|openFlags, s.opts.FileMode)
	if errors.Is(err, fs.ErrPermission) {
		if rf, rerr := os.OpenFile(name, os.O_RDONLY|openFlags, 0); rerr == nil {
			return rf, nil
		}
	}
	return f, err
}

// errNotRegular reports something other than a regular file where the store
// keeps one of its files.
var errNotRegular = errors.New("not a regular file")

func (s *Store) unlock(st *stripe) {
	_ = funlock(st.f)
	<-st.sem
}
