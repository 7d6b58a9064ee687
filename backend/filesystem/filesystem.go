package filesystem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/decimal"
	"github.com/go-caching/caching/internal/keyerrs"
)

// Defaults for the zero fields of Options.
const (
	DefaultNamespace     = "default"
	DefaultMaxEntries    = 100_000
	DefaultMaxBytes      = 1 << 30
	DefaultFileMode      = fs.FileMode(0o600)
	DefaultDirMode       = fs.FileMode(0o700)
	DefaultSweepInterval = 5 * time.Minute
)

// ErrUntrustedDir is wrapped by the error New returns when the namespace
// directory (Options.Dir/Options.Namespace) is one the store does not trust
// (owned by another user, or writable by group or others beyond
// Options.DirMode: see "Directories the store trusts" in the package
// documentation), and by the errors of Set, Add and Incr of a key whose
// subdirectory the store does not trust. Its text names the directory, its
// owner and mode, and how to fix it. Never on systems other than Unix.
var ErrUntrustedDir = errors.New("filesystem: untrusted directory")

// Options configures a Store. The zero value of every field but Dir means its
// default.
type Options struct {
	// Dir is the directory the store keeps its files in, under a
	// subdirectory per Namespace. It is created (with DirMode) if missing.
	// On Unix systems, a Dir/Namespace directory that exists already must
	// be owned by this process's effective uid (or, when DirMode grants
	// group write, by one of its groups) and not writable by group or
	// others beyond DirMode, or New fails with ErrUntrustedDir (see
	// "Directories the store trusts" in the package documentation). Dir
	// itself is not checked: keep it writable only by this user, or
	// sticky. Required.
	Dir string
	// Namespace names this cache's subdirectory of Dir: Clear removes its
	// entries and nothing else. Letters, digits, '.', '_' and '-', at most
	// 100 bytes, not "." or "..". Default DefaultNamespace.
	Namespace string
	// MaxEntries bounds the number of entry files this process keeps in
	// the namespace; past it the least recently used are removed. -1: no
	// bound. Default DefaultMaxEntries.
	MaxEntries int
	// MaxBytes bounds the bytes of entry files (values, keys and 25 bytes
	// of header each); past it the least recently used are removed. A
	// single entry larger than MaxBytes is refused with
	// backend.ErrValueTooLarge (a Set so refused removes the key's older
	// entry). -1: no bound. Default DefaultMaxBytes.
	//
	// Stores sharing a directory may have different bounds. An entry over
	// this Store's MaxBytes that a Store with a larger one wrote is a
	// miss for this one (its value is not read) and is left on disk, out
	// of this Store's index, for the other: Add counts it as a live entry
	// and does not replace it, Incr refuses it with
	// backend.ErrValueTooLarge, and Delete removes it.
	//
	// Such an entry is left to the Store that wrote it, however old: this
	// Store removes or replaces it only when asked to (Delete, Clear, or a
	// Set of its key). An entry with a TTL goes when it expires, as any
	// expired entry does. One without a TTL stays until it is deleted or
	// overwritten: after lowering MaxBytes on a directory that no other
	// Store uses, Clear the namespace, or the entries over the new bound
	// without a TTL stay on disk, out of every index and bound, as misses
	// for their keys (Add finds them present, Incr refuses them) until
	// deleted.
	MaxBytes int64
	// FileMode is the permission of entry files (exactly: the umask does
	// not apply to them) and of the lock files the store makes (less the
	// umask). Default 0600. It may not grant write to others, and must
	// grant its owner read and write (backend.ErrInvalidOption), on every
	// system: on Windows a mode without owner write makes the files
	// read-only, which a Set's rename cannot replace. Unix took 0o400 and
	// 0o440 before: give 0o600 and 0o640, which let no one else at the
	// files more, as the store's user, whose directories they are in, may
	// replace them anyway. On Unix systems an
	// entry file granting group or others write that FileMode does not is
	// a miss: whoever
	// could write it could plant an entry. One granting group or others
	// read that FileMode does not (written under a looser FileMode) loses
	// that read when a read or the sweep opens it: lowering FileMode
	// tightens the entries already on disk as they are used or swept.
	FileMode fs.FileMode
	// DirMode is the permission of the directories the store creates
	// (less the umask). Default 0700. It may not grant write to others,
	// and must grant its owner read, write and search (0o700); on Unix
	// systems, with group write (a cache shared by a group), FileMode must
	// grant the group read, or the other members could open neither the
	// entry files nor the lock files this store makes, and their writes and
	// deletes would fail (backend.ErrInvalidOption; not checked on Windows,
	// where access is by ACL). On Unix systems it also bounds those
	// the store trusts: a directory granting group or others write
	// permission that DirMode does not is refused (ErrUntrustedDir), and
	// with group write in DirMode, directories and entry files of another
	// user of one of this process's groups are trusted.
	DirMode fs.FileMode
	// Sync makes every write fsync the file before it is renamed into
	// place and its directory after (and the namespace directory after
	// making a subdirectory), so that an entry whose Set, Add or Incr
	// returned survives a power failure whole. A failed fsync of the
	// directory is returned as the write's error, although the entry was
	// written. Off by default: a cache can lose entries, and a crash never
	// leaves a torn one either way (readers see the old file or the new
	// one). Where a directory cannot be fsynced (Windows, or a file system
	// that refuses it) only the file is.
	Sync bool
	// SweepInterval is how often a goroutine walks the namespace to remove
	// expired entries and left-over temporary files, and to learn of files
	// other processes wrote. -1: no sweep (expired entries are then removed
	// only when read, or evicted, and left-over temporary files by the next
	// New or Clear). Default DefaultSweepInterval.
	SweepInterval time.Duration
	// Clock returns the current time; tests inject one. Default time.Now.
	// It must read from 1970 to 2262: entry files hold expiries as Unix
	// nanoseconds (an int64, 0 for none), which the other processes
	// sharing the directory read by their own clocks. New refuses a Clock
	// reading outside (backend.ErrInvalidOption), and so does a Set or Add
	// with a TTL made while it does; one without a TTL needs no time.
	Clock func() time.Time
}

// The times an entry file can hold as an expiry: Unix nanoseconds, after the
// epoch (0 means no expiry) and within an int64.
var (
	epoch     = time.Unix(0, 0)
	maxExpiry = time.Unix(0, math.MaxInt64)
)

// checkClock returns an error wrapping backend.ErrInvalidOption when now, a
// reading of Options.Clock, is outside the times an entry file can hold.
func checkClock(now time.Time) error {
	if now.Before(epoch) || now.After(maxExpiry) {
		return fmt.Errorf("filesystem: Options.Clock reads %v; want a time from %v to %v (entry files hold expiries as Unix nanoseconds): %w",
			now.UTC(), epoch.UTC(), maxExpiry.UTC(), backend.ErrInvalidOption)
	}
	return nil
}

var namespaceRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)

func (o Options) withDefaults() (Options, error) {
	if o.Dir == "" {
		return o, fmt.Errorf("filesystem: Options.Dir is required: %w", backend.ErrInvalidOption)
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if !namespaceRE.MatchString(o.Namespace) || o.Namespace == "." || o.Namespace == ".." {
		return o, fmt.Errorf(`filesystem: Options.Namespace must be 1 to 100 letters, digits, '.', '_' or '-', and not "." or "..": %w`, backend.ErrInvalidOption)
	}
	switch {
	case o.MaxEntries == 0:
		o.MaxEntries = DefaultMaxEntries
	case o.MaxEntries < -1:
		return o, fmt.Errorf("filesystem: Options.MaxEntries is %d; want > 0, 0 (default %d) or -1 (no bound): %w", o.MaxEntries, DefaultMaxEntries, backend.ErrInvalidOption)
	}
	switch {
	case o.MaxBytes == 0:
		o.MaxBytes = DefaultMaxBytes
	case o.MaxBytes < -1:
		return o, fmt.Errorf("filesystem: Options.MaxBytes is %d; want > 0, 0 (default %d) or -1 (no bound): %w", o.MaxBytes, DefaultMaxBytes, backend.ErrInvalidOption)
	}
	if o.FileMode == 0 {
		o.FileMode = DefaultFileMode
	}
	if o.DirMode == 0 {
		o.DirMode = DefaultDirMode
	}
	if o.FileMode&^fs.ModePerm != 0 || o.DirMode&^fs.ModePerm != 0 {
		return o, fmt.Errorf("filesystem: Options.FileMode and Options.DirMode may hold permission bits (0o777) only: %w", backend.ErrInvalidOption)
	}
	if (o.FileMode|o.DirMode)&0o002 != 0 {
		return o, fmt.Errorf("filesystem: Options.FileMode %04o and Options.DirMode %04o may not let others write: any user could plant cache entries: %w", o.FileMode, o.DirMode, backend.ErrInvalidOption)
	}
	// A typo (060 for 0660) would shut the store's own user out: every
	// read of its entries would fail, and every write too. A FileMode
	// without owner write (0o400, 0o440) makes read-only entry files on
	// Windows, which a rename does not replace (a key's second Set would
	// fail and leave the old entry), and lock files its owner opens for
	// reading only (no exclusive lock on NFS): refused on every system,
	// so that Options valid on one are valid on all.
	if o.FileMode&0o600 != 0o600 {
		return o, fmt.Errorf("filesystem: Options.FileMode %04o must let its owner read and write: give FileMode %04o, which lets no one else at the files more (the store's user may replace them anyway); without owner read the store could not read its entries, and on Windows, without owner write, a Set could not replace one: %w", o.FileMode, o.FileMode|0o600, backend.ErrInvalidOption)
	}
	if o.DirMode&0o700 != 0o700 {
		return o, fmt.Errorf("filesystem: Options.DirMode %04o must let its owner read, write and search (0o700): the store could not use its own files: %w", o.DirMode, backend.ErrInvalidOption)
	}
	if err := checkGroupShare(unixPerms, o.FileMode, o.DirMode); err != nil {
		return o, err
	}
	switch {
	case o.SweepInterval == 0:
		o.SweepInterval = DefaultSweepInterval
	case o.SweepInterval < -1:
		return o, fmt.Errorf("filesystem: Options.SweepInterval is %v; want > 0, 0 (default %v) or -1 (no sweep): %w", o.SweepInterval, DefaultSweepInterval, backend.ErrInvalidOption)
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if err := checkClock(o.Clock()); err != nil {
		return o, err
	}
	return o, nil
}

// checkGroupShare refuses a cache shared by a group (dirMode with group
// write) whose files shut the group out (fileMode without group read): the
// other members could open neither the entry files nor the lock files one
// member made, and their Set and Delete would fail. perms says whether the
// system gives files Unix permission bits (unixPerms); where it does not
// (Windows: access is by ACL, and Go keeps only the owner's write bit of a
// mode), the modes share nothing with the group and nothing is refused.
func checkGroupShare(perms bool, fileMode, dirMode fs.FileMode) error {
	if !perms || dirMode&0o020 == 0 || fileMode&0o040 != 0 {
		return nil
	}
	return fmt.Errorf("filesystem: Options.FileMode %04o grants the group no read, but Options.DirMode %04o shares the directories with it (group write): the other members could open neither the entry files nor the lock files this store makes, and their writes and deletes would fail; give FileMode 0o640 or 0o660, or DirMode no group write: %w", fileMode, dirMode, backend.ErrInvalidOption)
}

// Store is a backend.Backend that keeps one file per entry. It is safe for
// concurrent use, and several Stores (in one process or many) may share a
// directory and namespace. It starts a sweep goroutine (unless
// Options.SweepInterval is -1) that Close stops.
type Store struct {
	opts    Options
	root    string // Dir/Namespace
	trust   trust
	now     func() time.Time
	idx     *index
	stripes [256]stripe

	evictions atomic.Int64
	closed    atomic.Bool
	closeOnce sync.Once
	stop      chan struct{}
	done      chan struct{}
}

var (
	_ backend.Backend       = (*Store)(nil)
	_ backend.GetManyer     = (*Store)(nil)
	_ backend.Incrementer   = (*Store)(nil)
	_ backend.Haser         = (*Store)(nil)
	_ backend.DeleteCounter = (*Store)(nil)
	_ backend.Statser       = (*Store)(nil)
)

// New validates opts, creates the namespace directory if needed, indexes the
// files already there (one stat per file, no reads) and starts the sweep.
func New(opts Options) (*Store, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{
		opts:  o,
		root:  filepath.Join(o.Dir, o.Namespace),
		trust: newTrust(o.DirMode, o.FileMode),
		now:   o.Clock,
		idx:   newIndex(o.MaxEntries, o.MaxBytes),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
	}
	for i := range s.stripes {
		s.stripes[i].sem = make(chan struct{}, 1)
	}
	if err := os.MkdirAll(s.root, o.DirMode); err != nil {
		return nil, fmt.Errorf("filesystem: create directory: %w", err)
	}
	if err := s.checkRoot(); err != nil {
		return nil, err
	}
	if err := s.load(); err != nil {
		return nil, err
	}
	if o.SweepInterval > 0 {
		go s.sweepLoop()
	} else {
		close(s.done)
	}
	return s, nil
}

// checkRoot returns an error wrapping ErrUntrustedDir when the namespace
// directory, which New found or made, is not one the store trusts (see
// trust.dir), or when it is reached through a symbolic link that is not.
func (s *Store) checkRoot() error {
	fi, err := os.Lstat(s.root)
	if err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if err := s.trust.dir(s.root, fi, true); err != nil {
			return err
		}
		fi, err = os.Stat(s.root)
	}
	if err != nil {
		return fmt.Errorf("filesystem: create directory: %w", err)
	}
	return s.trust.dir(s.root, fi, false)
}

// Must is New for program start-up: it panics on an error.
func Must(opts Options) *Store {
	s, err := New(opts)
	if err != nil {
		panic(err)
	}
	return s
}

// Dir returns the directory this store's entries live in (Dir/Namespace).
func (s *Store) Dir() string { return s.root }

// entry names one key's file.
type entry struct {
	hash [32]byte
	hex  string
	sub  string // subdirectory
	path string
}

func (s *Store) entry(key string) entry {
	h := sha256.Sum256([]byte(key))
	return s.entryOf(h)
}

func (s *Store) entryOf(h [32]byte) entry {
	x := hex.EncodeToString(h[:])
	sub := filepath.Join(s.root, x[:2])
	return entry{hash: h, hex: x, sub: sub, path: filepath.Join(sub, x)}
}

// expiry is the Unix time in nanoseconds at which an entry written now
// with ttl expires: 0 for never. A deadline past what an int64 holds (the
// year 2262) is capped there, not wrapped into the past. A clock reading
// outside the times an entry file holds is an error (see checkClock): an
// expiry before 1970 is one no reader would take for a time.
func (s *Store) expiry(ttl time.Duration) (int64, error) {
	if ttl <= 0 {
		return 0, nil
	}
	now := s.now()
	if err := checkClock(now); err != nil {
		return 0, err
	}
	d := now.Add(ttl)
	if d.After(maxExpiry) {
		return math.MaxInt64, nil
	}
	return d.UnixNano(), nil // after now, so after the epoch: not 0
}

// expired reports whether an entry expiring at exp (Unix nanoseconds, 0 for
// never) has expired, by the clock's time itself: a reading outside the
// times an int64 of nanoseconds holds is compared as it is, not wrapped.
func (s *Store) expired(exp int64) bool {
	return exp != 0 && !s.now().Before(time.Unix(0, exp))
}

// get reads key; a bad or expired file is removed.
func (s *Store) get(ctx context.Context, key string) ([]byte, error) {
	if s.closed.Load() {
		return nil, backend.ErrClosed
	}
	e := s.entry(key)
	r, err := s.readHeld(ctx, e, key)
	if err != nil {
		return nil, err
	}
	if !r.ok {
		if r.fi != nil {
			// Still open (readHeld): its inode is not another file's yet.
			s.removeIfSame(e, r.fi)
			r.f.Close()
		} else {
			s.forget(e)
		}
		return nil, backend.ErrNotFound
	}
	s.hit(ctx, e, r)
	return r.value, nil
}

// forget drops e's key from the index after get, which does not hold e's
// lock, found no entry of this store's at its path (nothing, something
// other than a regular file, or a live entry over Options.MaxBytes), if that
// is still so once it holds e's stripe: a Set of the key by another
// goroutine between the read and now has indexed its new file, which must
// stay indexed. The stripe's semaphore is enough, and its lock file is not
// taken: only this store's own calls add to its index, each holding the
// stripe, and another process's file left out of it is learnt by a later
// read or sweep, as any file another process writes. When another
// goroutine holds the stripe, the index is left as it is: a later read,
// eviction or sweep sets it right.
func (s *Store) forget(e entry) {
	if !s.idx.has(e.hash) {
		return // a plain miss: nothing to drop, no lock, no Lstat
	}
	st := &s.stripes[e.hash[0]]
	select {
	case st.sem <- struct{}{}:
	default:
		return
	}
	defer func() { <-st.sem }()
	if s.noEntry(e) {
		s.idx.remove(e.hash)
	}
}

// noEntry reports whether nothing this store would index is at e's path:
// no file (or a subdirectory that is missing or not the store's), something
// other than a regular file, or a file over Options.MaxBytes.
func (s *Store) noEntry(e entry) bool {
	if s.realDir(e.sub) != nil {
		return true
	}
	fi, err := os.Lstat(e.path)
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	return !fi.Mode().IsRegular() || !s.fits(fi.Size())
}

// hit records r, a read of e's live file, as the latest use of the key. A
// file the index does not know (another process wrote it) or knows at
// another size is indexed under e's lock, and only if it is still the file
// read: without the lock, a Delete or Set between the read and the index's
// update would leave a deleted key in the index with no file behind it, or
// the old file's size. When another goroutine or process holds the lock,
// the index is left as it is: a later read or the sweep learns the file.
func (s *Store) hit(ctx context.Context, e entry, r read) {
	if known, size := s.idx.touch(e.hash); known && size == r.size {
		return
	}
	s.evict(ctx, s.learnRead(e, r))
}

// learnRead indexes r's file, as hit says, and returns the victims to evict
// once e's lock is released.
func (s *Store) learnRead(e entry, r read) []victim {
	st, _ := s.tryLock(e)
	if st == nil {
		return nil
	}
	defer s.unlock(st)
	if cur, err := os.Lstat(e.path); err != nil || !os.SameFile(cur, r.fi) {
		return nil // deleted or replaced since: a later read learns the new one
	}
	return s.idx.put(e.hash, r.size, time.Now().UnixNano())
}

// Get returns the value stored under key. A missing, expired, corrupt,
// truncated or foreign regular file is a miss (wrapping
// backend.ErrNotFound), and the file is removed. A file of a newer format
// version, a newer release's, is a miss left on disk (see the package
// doc). A live entry over
// Options.MaxBytes, written by a Store with a larger bound, is a miss left
// on disk for that Store until it expires or is deleted (see
// Options.MaxBytes). Something that is not a
// regular file at the entry's path (a FIFO, socket, device, directory or
// symbolic link) is a miss too, found without blocking and left alone. Get
// returns ctx's error once ctx is done: it looks before it opens the file
// and between each MiB it reads.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	return s.get(ctx, key)
}

// Has reports whether a live entry is stored under key. It reads and checks
// the whole file, as Get does.
func (s *Store) Has(ctx context.Context, key string) (bool, error) {
	_, err := s.get(ctx, key)
	if errors.Is(err, backend.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// GetMany returns the values of keys, nil for each miss. It reads the files
// one after the other, and stops with ctx's error once ctx is done. A file
// that cannot be read (permission denied, an I/O error) does not stop it:
// the values of the others are returned with a *backend.GetManyError
// naming the keys not read, the first such failure its error; when no key
// could be read, that error alone.
func (s *Store) GetMany(ctx context.Context, keys []string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	var unread []int
	var first error
	for i, k := range keys {
		v, err := s.get(ctx, k)
		switch {
		case err == nil:
			out[i] = v
		case errors.Is(err, backend.ErrNotFound):
		case ctx.Err() != nil, errors.Is(err, backend.ErrClosed):
			return nil, err
		default:
			if first == nil {
				first = err
			}
			unread = append(unread, i)
		}
	}
	switch {
	case len(unread) == 0:
		return out, nil
	case len(unread) == len(keys):
		return nil, first
	}
	return out, &backend.GetManyError{Unread: unread, Keys: len(keys), Err: first}
}

// check reports a closed store, a negative ttl or a clock whose time no
// entry file can hold, and returns the entry's size and expiry.
func (s *Store) check(key string, value []byte, ttl time.Duration) (size, expiry int64, err error) {
	if s.closed.Load() {
		return 0, 0, backend.ErrClosed
	}
	if err := backend.CheckTTL(ttl); err != nil {
		return 0, 0, fmt.Errorf("filesystem: %w", err)
	}
	n := encodedSize(len(key), len(value))
	if n < 0 || !s.fits(n) {
		return 0, 0, s.tooLarge(n)
	}
	exp, err := s.expiry(ttl)
	if err != nil {
		return 0, 0, err
	}
	return n, exp, nil
}

// fits reports whether an entry file of size bytes is within
// Options.MaxBytes. This store writes, reads and indexes only those; a
// larger one another store wrote is left to it.
func (s *Store) fits(size int64) bool {
	return s.opts.MaxBytes < 0 || size <= s.opts.MaxBytes
}

// tooLarge is the error for an entry file of size bytes that does not fit
// (size -1: one the format cannot hold).
func (s *Store) tooLarge(size int64) error {
	return fmt.Errorf("filesystem: entry of %d bytes over Options.MaxBytes %d: %w", size, s.opts.MaxBytes, backend.ErrValueTooLarge)
}

// Set stores value under key for ttl (0: no expiry), replacing any entry. The
// file is written under a temporary name and renamed into place: readers in
// every process see the old entry or the new one, never part of one. The
// ttl counts from the call: the file, its expiry in it, is written before
// the write waits for the key's lock, so a write that waits stores an entry
// that expires ttl after the call, never later. An
// entry file that would be over Options.MaxBytes gets
// backend.ErrValueTooLarge, and the key's older entry is removed (as by
// Delete, under the key's lock), so that a refused write never leaves the
// value it was to replace readable. So does a write refused because the
// disk is full (ENOSPC) or the user's quota is (EDQUOT), with an error
// that says so: removing the older file needs no room, and the store still
// answers reads, so a full disk is no failure of the store for the Cache's
// circuit breaker.
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	n, exp, err := s.check(key, value, ttl)
	if errors.Is(err, backend.ErrValueTooLarge) {
		return s.refuse(ctx, key, err)
	}
	if err != nil {
		return err
	}
	e := s.entry(key)
	data := encode(key, value, exp)
	tmp, err := s.writeTemp(ctx, e, data)
	if noSpace(err) {
		return s.refuse(ctx, key, fullDisk(err))
	}
	if err != nil {
		return err
	}
	st, err := s.lock(ctx, e)
	if err != nil {
		os.Remove(tmp)
		if noSpace(err) {
			return s.refuse(ctx, key, fullDisk(err))
		}
		return err
	}
	victims, err := s.commitWritten(ctx, e, tmp, data, n)
	if noSpace(err) {
		// The rename found no room (a directory that had to grow): the
		// older file is still there, and goes under the lock held.
		err = fullDisk(err)
		if uerr := unlink(e.path); uerr != nil && !errors.Is(uerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("filesystem: %w", uerr))
		}
		s.idx.remove(e.hash)
	}
	s.unlock(st)
	if err == nil {
		err = s.syncRename(e)
	}
	s.evict(ctx, victims)
	return err
}

// refuse removes key's entry for a Set refused with err (too large, or no
// room on the disk): its
// caller has moved on from the older value (a database updated, say) and
// must not read it back, as with backend/simple. It returns err, joined with
// the error of the removal if that failed.
func (s *Store) refuse(ctx context.Context, key string, err error) error {
	if _, derr := s.deleteKeys(ctx, []string{key}, false); derr != nil {
		return errors.Join(err, derr)
	}
	return err
}

// fullDisk returns the error of a write refused with err for want of room
// on the disk (see noSpace), or err itself for any other error. It wraps
// backend.ErrValueTooLarge, as memcached's refusal of an item for want of
// memory does: the store answered and keeps serving reads, and the refusal
// is the write's; counted as a failure of the store, it would open the
// Cache's circuit breaker for reads that work, as long as the disk stays
// full.
func fullDisk(err error) error {
	if err == nil || !noSpace(err) {
		return err
	}
	return fmt.Errorf("filesystem: %w: the disk is full: %w", backend.ErrValueTooLarge, err)
}

// Add stores value under key if no live entry is there (one over
// Options.MaxBytes that another Store wrote counts: see Options.MaxBytes).
// It is atomic with
// respect to Set, Add, Incr and Delete on the same directory, in this
// process and in others (an advisory flock(2) per subdirectory; on systems
// without flock, such as Windows, within this process only). Its ttl counts
// from the call, as Set's does. A write refused because the disk is full
// gets backend.ErrValueTooLarge, as in Set, and stores nothing.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	n, exp, err := s.check(key, value, ttl)
	if err != nil {
		return false, err
	}
	e := s.entry(key)
	data := encode(key, value, exp)
	tmp, err := s.writeTemp(ctx, e, data)
	if err != nil {
		return false, fullDisk(err)
	}
	st, err := s.lock(ctx, e)
	if err != nil {
		os.Remove(tmp)
		return false, fullDisk(err)
	}
	r, err := s.read(ctx, e, key)
	if err != nil || r.ok || r.large {
		s.unlock(st)
		os.Remove(tmp)
		return false, err
	}
	victims, err := s.commitWritten(ctx, e, tmp, data, n)
	s.unlock(st)
	err = fullDisk(err)
	if err == nil {
		err = s.syncRename(e)
	}
	s.evict(ctx, victims)
	return err == nil, err
}

// Incr adds delta to the decimal integer stored under key, atomically (see
// Add), and returns the new value. A missing key counts as 0 and is created
// without expiry; an existing entry keeps its expiry. A value that is not an
// int64 as strconv.FormatInt writes it ("007", "+5" and "-0" are not, as for
// Redis's INCRBY), or a result that would overflow an int64, gives an error
// wrapping backend.ErrNotInteger and leaves the value alone. A key too long
// for the entry to fit Options.MaxBytes gets backend.ErrValueTooLarge, as
// in Set, and so does an entry over Options.MaxBytes that another Store
// wrote, which is left alone (see Options.MaxBytes), and so does an
// increment the full disk has no room for, which leaves the value alone.
func (s *Store) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if s.closed.Load() {
		return 0, backend.ErrClosed
	}
	e := s.entry(key)
	st, err := s.lock(ctx, e)
	if err != nil {
		return 0, fullDisk(err)
	}
	next, victims, err := s.incrLocked(ctx, e, key, delta)
	s.unlock(st)
	err = fullDisk(err)
	if err == nil {
		err = s.syncRename(e)
	}
	s.evict(ctx, victims)
	return next, err
}

func (s *Store) incrLocked(ctx context.Context, e entry, key string, delta int64) (int64, []victim, error) {
	r, err := s.read(ctx, e, key)
	switch {
	case err != nil:
		return 0, nil, err
	case r.large:
		return 0, nil, s.tooLarge(r.size)
	}
	var cur int64
	if r.ok {
		var ok bool
		if cur, ok = decimal.Parse(string(r.value)); !ok {
			return 0, nil, fmt.Errorf("filesystem: %w", backend.ErrNotInteger)
		}
	}
	next := cur + delta
	if (delta > 0 && next < cur) || (delta < 0 && next > cur) {
		return 0, nil, fmt.Errorf("filesystem: increment overflows int64: %w", backend.ErrNotInteger)
	}
	v := strconv.AppendInt(nil, next, 10)
	n := encodedSize(len(key), len(v))
	if n < 0 || !s.fits(n) {
		// As Set: a file over MaxBytes would evict every other entry
		// from the index, and this store would not read it back.
		return 0, nil, s.tooLarge(n)
	}
	tmp, err := s.writeTemp(ctx, e, encode(key, v, r.expiry))
	if err != nil {
		return 0, nil, err
	}
	victims, err := s.commit(e, tmp, n)
	return next, victims, err
}

// Delete removes the keys' files. Missing keys are not an error, and
// Delete creates nothing for them (no subdirectory, no lock file). Whatever
// else is at a key's path is removed too (a symbolic link itself, never what
// it points to) except a directory, which is left alone.
//
// A key that cannot be deleted does not stop the others, so that one
// subdirectory another process holds locked (a stopped process, a hung NFS
// client) does not leave the keys elsewhere undeleted (an invalidation lost
// where it could be made): as Clear does, a key whose subdirectory another
// process holds locked (or whose turn in this process waits on one that
// does) is waited for briefly (10ms), then skipped and tried again after
// the others, until it is deleted, ctx is done, or 5s have passed since the
// first round over them all; a key that fails otherwise (a file that cannot
// be removed) is not tried again. This process's own goroutines (a Set, an
// Incr) are waited for in turn, as long as ctx allows: a steady load of
// writes to a subdirectory does not keep a Delete out.
// Delete then fails with the first error, saying how many keys were not
// deleted, and names the subdirectories left locked. It stops with ctx's
// error once ctx is done, the keys not started by then left alone.
func (s *Store) Delete(ctx context.Context, keys ...string) error {
	_, err := s.deleteKeys(ctx, keys, false)
	return err
}

// DeleteCount removes the keys, as Delete does, and returns how many of
// them held a live entry (backend.DeleteCounter), counting one over
// Options.MaxBytes that another Store wrote. It reads each file (of such
// an entry, the header and key) before it removes it. A file this process
// may not read (see "Files it cannot read" in the package documentation)
// is removed all the same, as Delete removes it, but not counted: the
// error, wrapping backend.ErrKeyRefused, says so, and how many such keys
// there were; every key was deleted. Where a key also failed, the error is
// that failure's, not wrapping backend.ErrKeyRefused, and says how many
// keys were removed but not counted (they are never among those it says
// were not deleted).
func (s *Store) DeleteCount(ctx context.Context, keys ...string) (int, error) {
	return s.deleteKeys(ctx, keys, true)
}

// deleteKeys removes the keys' files and, with count, counts the live
// entries among them, in rounds as Clear clears subdirectories (see
// Delete): a key whose stripe another process keeps locked is left for the
// next round, and so are the keys after it in the same stripe, at once.
func (s *Store) deleteKeys(ctx context.Context, keys []string, count bool) (int, error) {
	if s.closed.Load() {
		return 0, backend.ErrClosed
	}
	n := 0
	var failed keyerrs.Failures
	var uncounted uncounted
	done := func(stop error) error { return uncounted.join(failed.Join(stop)) }
	todo := keys
	var giveUp time.Time // zero in the first round: no bound but the wait
	for round := 0; len(todo) > 0; round++ {
		if round == 1 {
			giveUp = time.Now().Add(clearPatience)
		} else if round > 1 && !time.Now().Before(giveUp) {
			return n, done(s.keysLocked(todo, len(todo), fmt.Errorf("waited %v", clearPatience)))
		}
		var busy []string
		var busyStripe [len(s.stripes)]bool
		stopped := func(i int) error {
			if round > 0 { // every key of todo was found locked before
				return done(s.deleteStopped(ctx, append(busy, todo[i:]...), 0))
			}
			return done(s.deleteStopped(ctx, busy, len(todo)-i))
		}
		for i, k := range todo {
			if ctx.Err() != nil {
				return n, stopped(i)
			}
			e := s.entry(k)
			if busyStripe[e.hash[0]] {
				busy = append(busy, k)
				continue
			}
			held, err := s.deleteKey(ctx, e, k, count, giveUp)
			switch {
			case err == nil:
				if held {
					n++
				}
			case errors.Is(err, errStripeBusy):
				busyStripe[e.hash[0]] = true
				busy = append(busy, k)
			case errors.Is(err, backend.ErrKeyRefused):
				// Removed, but not read (see deleteKey): deleted, and
				// not a failure.
				uncounted.add(err)
			case errors.Is(err, backend.ErrClosed):
				return n, err
			case ctx.Err() != nil:
				return n, stopped(i)
			default:
				failed.Add(err, false)
			}
		}
		if ctx.Err() != nil && len(busy) > 0 {
			return n, stopped(len(todo))
		}
		todo = busy
	}
	return n, done(nil)
}

// uncounted is the keys DeleteCount removed but could not count: files
// this process may not read (see deleteKey). The zero value has none.
type uncounted struct {
	n     int
	first error // wraps backend.ErrKeyRefused
}

func (u *uncounted) add(err error) {
	if u.n == 0 {
		u.first = err
	}
	u.n++
}

// join returns the error of a DeleteCount that failed with err (nil: it
// deleted every key) and removed u's keys uncounted. Alone, they are
// u.first's error, wrapping backend.ErrKeyRefused: every key was deleted,
// the count is short. With a failure, the error is the failure's, and
// says how many keys were removed uncounted without wrapping their error:
// wrapping backend.ErrKeyRefused would have the failure (a key not
// deleted, a deadline) taken for a refusal, which the caching package's
// circuit breaker does not count. These keys are never among the keys
// an error says were not deleted: they were.
func (u *uncounted) join(err error) error {
	switch {
	case u.n == 0:
		return err
	case err != nil:
		return fmt.Errorf("%w (and %d keys removed but not counted: %v)", err, u.n, u.first)
	case u.n == 1:
		return u.first
	default:
		return fmt.Errorf("%w (and %d other keys removed but not counted)", u.first, u.n-1)
	}
}

// deleteKey removes key's file (its entry e) and reports whether it held a
// live entry, with count. It waits for the stripe's lock as lockExisting
// does, and gives errStripeBusy when another process keeps it.
func (s *Store) deleteKey(ctx context.Context, e entry, key string, count bool, giveUp time.Time) (bool, error) {
	if notOurs(s.realDir(e.sub)) {
		return false, nil // no entry of ours can be there
	}
	st, err := s.lockExisting(ctx, e, giveUp)
	if errors.Is(err, fs.ErrNotExist) {
		// No subdirectory (none yet, or removed under us to clear the
		// cache): no file, and lockExisting forgot it. Nothing is created
		// to lock it.
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer s.unlock(st)
	held := false
	var refused error
	if count {
		r, err := s.read(ctx, e, key)
		switch {
		case errors.Is(err, backend.ErrKeyRefused):
			// A file this process may not read (another group member's):
			// whether it holds a live entry is unknown, so it is not
			// counted, and said; but it goes, as Delete removes it, or
			// the invalidation is lost and its writer serves it still.
			refused = fmt.Errorf("filesystem: delete: the key's file was removed but not counted: %w", err)
		case err != nil:
			return false, err
		}
		held = r.ok || r.large
	}
	err = unlink(e.path)
	s.idx.remove(e.hash)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return held, fmt.Errorf("filesystem: %w", err)
	}
	// Only this error of deleteKey's wraps backend.ErrKeyRefused: the
	// caller (deleteKeys) takes it for a key deleted.
	return held, refused
}

// deleteStopped returns the error of a delete that ctx stopped, busy left
// locked and notStarted keys after them not started.
func (s *Store) deleteStopped(ctx context.Context, busy []string, notStarted int) error {
	if len(busy) == 0 {
		return fmt.Errorf("filesystem: delete: %w (%d keys not deleted)", ctx.Err(), notStarted)
	}
	return s.keysLocked(busy, len(busy)+notStarted, ctx.Err())
}

// keysLocked returns Delete's error for keys, left because another
// process held their subdirectories locked, and the keys
// after them not started, left in all, wrapping cause.
func (s *Store) keysLocked(keys []string, left int, cause error) error {
	var seen [len(s.stripes)]bool
	var subs []byte
	for _, k := range keys {
		if b := s.entry(k).hash[0]; !seen[b] {
			seen[b] = true
			subs = append(subs, b)
		}
	}
	return fmt.Errorf("%w (%d keys not deleted)", s.leftLocked("delete", subs, cause), left)
}

// Clear removes every entry file of this store's namespace (and temporary
// files left over for more than a minute: a Set or Add that had written
// one and waited that long for the subdirectory's lock writes it again once
// it has the lock). Other files in the directory,
// other namespaces, and anything that is not a regular file are left alone.
// It clears one subdirectory at a time, holding its lock, so that a Set, Add
// or Incr of a key there either comes before and is cleared, or after and
// stays, counted in the bounds.
//
// A subdirectory whose lock another process holds (a stopped process, a
// hung NFS client), or whose turn in this process waits on one that does,
// is waited for briefly (10ms), then skipped, and the others cleared; the skipped ones are tried again, in
// turn, until they are cleared, ctx is done, or 5s have passed since the
// first round over them all, so that Clear with a context that never ends
// does not wait for ever on one lock. The error then names the
// subdirectories left. This process's own goroutines holding a
// subdirectory (a Set, an Incr) are waited for in turn, as long as ctx
// allows. Clear stops with ctx's error once ctx is done, some
// files removed and the others not; a subdirectory it could not list or
// lock is left, and the others cleared.
func (s *Store) Clear(ctx context.Context) error {
	if s.closed.Load() {
		return backend.ErrClosed
	}
	todo := make([]byte, len(s.stripes))
	for i := range todo {
		todo[i] = byte(i)
	}
	var giveUp time.Time // zero in the first round: no bound but the wait
	var first error
	for round := 0; len(todo) > 0; round++ {
		if round == 1 {
			giveUp = time.Now().Add(clearPatience)
		} else if round > 1 && !time.Now().Before(giveUp) {
			return errors.Join(first, s.leftLocked("clear", todo, fmt.Errorf("waited %v", clearPatience)))
		}
		var busy []byte
		for i, b := range todo {
			err := s.clearStripe(ctx, b, giveUp)
			switch {
			case ctx.Err() != nil:
				if round > 0 {
					busy = append(busy, todo[i:]...) // found locked before
				}
				if len(busy) > 0 {
					return errors.Join(first, s.leftLocked("clear", busy, ctx.Err()))
				}
				return fmt.Errorf("filesystem: clear: %w", ctx.Err())
			case errors.Is(err, backend.ErrClosed):
				return err
			case errors.Is(err, errStripeBusy):
				busy = append(busy, b)
			case first == nil:
				first = err
			}
		}
		todo = busy
	}
	return first
}

// Clear's patience with subdirectories another process holds locked (see
// acquireOrSkip): each is waited for clearStripeWait at most at a time, and
// those skipped are tried again until clearPatience has passed since Clear's first
// round over them all (a var: tests shorten it). Past that Clear returns an
// error naming them: a lock held so long is held by a process stopped or
// stuck, and a caller whose context has no deadline gets an answer.
const clearStripeWait = 10 * time.Millisecond

var clearPatience = 5 * time.Second

// errStripeBusy is clearStripe's error when the stripe's lock was still
// held when its wait ended.
var errStripeBusy = errors.New("subdirectory locked")

// leftLocked returns the error of op (Clear's "clear", Delete's "delete")
// for the subdirectories of stripes subs, left because another process held
// them locked (this process's goroutines are waited for), wrapping cause.
func (s *Store) leftLocked(op string, subs []byte, cause error) error {
	names := make([]string, len(subs))
	for i, b := range subs {
		names[i] = fmt.Sprintf("%02x", b)
	}
	what := "subdirectories"
	if len(subs) == 1 {
		what = "subdirectory"
	}
	return fmt.Errorf("filesystem: %s: %s %s of %s left, locked by another process: %w",
		op, what, strings.Join(names, ", "), s.root, cause)
}

// clearStripe removes the entry files and stale temporary files of stripe
// b's subdirectory, and its keys from the index, under the stripe's lock.
// It waits for the lock as lockExisting does, and gives errStripeBusy when
// another process keeps it. With no subdirectory (or one that
// is not the store's) there is no file to remove, and the semaphore alone
// keeps this process's writers out while the keys go; the lock file is
// flocked only where it is. The index forgets all of the stripe's keys only
// once every file was seen: when the listing fails or ctx ends, only the
// keys whose files it removed go.
func (s *Store) clearStripe(ctx context.Context, b byte, giveUp time.Time) error {
	e := s.entryOf([32]byte{b})
	st := &s.stripes[b]
	if err := s.acquireOrSkip(ctx, st, func() time.Time { return stripeWaitEnd(giveUp) }); err != nil {
		return err
	}
	defer func() { <-st.sem }()
	wait, cancel := context.WithDeadline(ctx, stripeWaitEnd(giveUp))
	defer cancel()
	dirErr := s.realDir(e.sub)
	if dirErr == nil {
		switch err := s.lockFile(wait, st, e, false); {
		case errors.Is(err, fs.ErrNotExist):
			dirErr = err // removed since
		case err != nil:
			return lockWaitErr(ctx, err)
		default:
			defer funlock(st.f)
		}
	}
	if dirErr == nil {
		if err := s.clearFiles(ctx, e.sub); err != nil {
			return fmt.Errorf("filesystem: clear: %w", err)
		}
	}
	s.idx.removeStripe(b)
	return nil
}

// stripeWaitEnd returns when a wait for a stripe's lock by Clear or Delete
// ends: clearStripeWait from now, and not past giveUp (when not zero).
func stripeWaitEnd(giveUp time.Time) time.Time {
	until := time.Now().Add(clearStripeWait)
	if !giveUp.IsZero() && giveUp.Before(until) {
		return giveUp
	}
	return until
}

// lockWaitErr returns errStripeBusy for err, the error of a wait for a lock
// bounded by a deadline derived from ctx, when that deadline ended the wait
// and ctx is not done; otherwise err.
func lockWaitErr(ctx context.Context, err error) error {
	if ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		return errStripeBusy
	}
	return err
}

// clearFiles removes the entry files and the temporary files older than a
// minute in sub, a subdirectory whose lock the caller holds, and their keys
// from the index. It goes on past a file it fails to remove, and returns
// the first such error.
func (s *Store) clearFiles(ctx context.Context, sub string) error {
	des, err := os.ReadDir(sub)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	var first error
	for _, de := range des {
		if err := ctx.Err(); err != nil {
			return err
		}
		name := de.Name()
		if !de.Type().IsRegular() || !isEntryName(name) && !s.staleTemp(name, de, time.Minute) {
			continue
		}
		err := unlink(filepath.Join(sub, name))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			if first == nil {
				first = err
			}
			continue
		}
		if h, ok := parseHash(name); ok {
			s.idx.remove(h)
		}
	}
	return first
}

// Stats reports the entries and bytes of entry files in this process's index
// (approximate when other processes share the namespace) and the evictions
// this Store made.
func (s *Store) Stats() backend.Stats {
	n, b := s.idx.stats()
	return backend.Stats{Entries: n, Bytes: b, Evictions: s.evictions.Load()}
}

// Close stops the sweep and releases the lock files; calls waiting for a
// lock another process holds return backend.ErrClosed. It is idempotent;
// calls after it return backend.ErrClosed. The files stay.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.closed.Store(true)
		close(s.stop)
		<-s.done
		for i := range s.stripes {
			st := &s.stripes[i]
			st.sem <- struct{}{}
			if st.f != nil {
				st.f.Close()
				st.f = nil
			}
			<-st.sem
		}
	})
	return nil
}

// writeTemp writes data to a new temporary file next to e's file and returns
// its name. It stops with ctx's error between each MiB it writes.
func (s *Store) writeTemp(ctx context.Context, e entry, data []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", fmt.Errorf("filesystem: write: %w", err)
	}
	err := s.realDir(e.sub)
	if errors.Is(err, fs.ErrNotExist) {
		if err = s.makeSub(e); err == nil {
			err = s.realDir(e.sub)
		}
	}
	var f *os.File
	if err == nil {
		f, err = os.CreateTemp(e.sub, e.hex+tempMark+"*")
	}
	if err != nil {
		return "", fmt.Errorf("filesystem: write: %w", err)
	}
	name := f.Name()
	err = f.Chmod(s.opts.FileMode)
	for b := data; err == nil && len(b) > 0; b = b[min(len(b), readChunk):] {
		if err = ctx.Err(); err == nil {
			_, err = f.Write(b[:min(len(b), readChunk)])
		}
	}
	if err == nil && s.opts.Sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(name)
		return "", fmt.Errorf("filesystem: write: %w", err)
	}
	return name, nil
}

// fsyncDir is syncDir; tests record the directories synced.
var fsyncDir = syncDir

// makeSub makes e's subdirectory (and the namespace directory, if it was
// removed), and with Options.Sync fsyncs the namespace directory, so that
// the new subdirectory's name is as durable as the files written in it.
func (s *Store) makeSub(e entry) error {
	if err := os.MkdirAll(e.sub, s.opts.DirMode); err != nil {
		return err
	}
	if s.opts.Sync {
		return s.syncName(e)
	}
	return nil
}

// syncName fsyncs the namespace directory, once e's subdirectory is there,
// until that succeeds once in this Store: then the subdirectory's name is
// durable. Not only the call that made the subdirectory: another writer
// may find it made, and acknowledge its write, before that call's fsync
// (or after it failed).
func (s *Store) syncName(e entry) error {
	st := &s.stripes[e.hash[0]]
	if st.named.Load() {
		return nil
	}
	if err := fsyncDir(s.root); err != nil {
		return err
	}
	st.named.Store(true)
	return nil
}

// syncRename makes the rename of e's file durable with Options.Sync:
// fsyncing the file before the rename made its data durable, not the
// directory's name for it. It runs after the lock is released: it waits on
// the disk, and holds up no other writer of the subdirectory.
func (s *Store) syncRename(e entry) error {
	if !s.opts.Sync {
		return nil
	}
	if err := s.syncName(e); err != nil {
		return fmt.Errorf("filesystem: sync: %w", err)
	}
	if err := fsyncDir(e.sub); err != nil {
		return fmt.Errorf("filesystem: sync: %w", err)
	}
	return nil
}

// commit renames tmp into place as e's file of size bytes and records it;
// the caller holds e's stripe lock, and evicts the victims returned once it
// has released it (a victim may share the stripe).
func (s *Store) commit(e entry, tmp string, size int64) ([]victim, error) {
	if err := os.Rename(tmp, e.path); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("filesystem: write: %w", err)
	}
	return s.idx.put(e.hash, size, time.Now().UnixNano()), nil
}

// commitWritten is commit for tmp, data written before the caller took e's
// stripe lock. A Clear (in any process) that held the lock meanwhile took
// tmp for a crashed writer's leftover when it was over a minute old, and
// the sweep when it was over tempMaxAge: when the rename finds tmp gone,
// and e's subdirectory still there, data is written again, under the lock,
// and committed.
func (s *Store) commitWritten(ctx context.Context, e entry, tmp string, data []byte, size int64) ([]victim, error) {
	victims, err := s.commit(e, tmp, size)
	if !errors.Is(err, fs.ErrNotExist) || s.realDir(e.sub) != nil {
		return victims, err
	}
	if tmp, err = s.writeTemp(ctx, e, data); err != nil {
		return nil, err
	}
	return s.commit(e, tmp, size)
}

// evict removes the files of victims, skipping any that was written again
// since it was chosen, by this store or (with a file over Options.MaxBytes)
// by a store with a larger bound. It never waits for a lock (see tryLock):
// a victim whose subdirectory another goroutine or process holds locked,
// one whose file it fails to remove, and those left when ctx ends go back
// into the index as the least recently used (unless deleted or cleared
// meanwhile: see putBack), and the next eviction (the next Set, read or
// sweep over a bound) tries them first. So the files this
// store indexed exceed its bounds only by victims it could not remove, until
// their locks are free.
func (s *Store) evict(ctx context.Context, victims []victim) {
	var keep []victim
	defer func() { s.putBack(keep) }()
	var busy [len(s.stripes)]bool // stripes found locked by others
	for i, v := range victims {
		if ctx.Err() != nil {
			keep = append(keep, victims[i:]...)
			return
		}
		if busy[v.hash[0]] {
			keep = append(keep, v)
			continue
		}
		e := s.entryOf(v.hash)
		st, err := s.tryLock(e)
		switch {
		case notOurs(err):
			continue // its subdirectory is not the store's: nothing of ours there
		case errors.Is(err, fs.ErrNotExist):
			continue // its subdirectory is gone, and its file with it
		case errors.Is(err, backend.ErrClosed):
			return
		case st == nil:
			busy[v.hash[0]] = true
			keep = append(keep, v)
			continue
		}
		if !s.idx.has(v.hash) && !s.overBound(e) {
			switch err := unlink(e.path); {
			case err == nil:
				s.evictions.Add(1)
				// Counted as a removal in the stripe: another eviction
				// that dropped the key before it was written again, and
				// skipped it, must not put it back (see putBack).
				s.idx.remove(v.hash)
			case !errors.Is(err, fs.ErrNotExist):
				keep = append(keep, v)
			}
		}
		s.unlock(st)
	}
}

// putBack returns victims that evict did not remove to the index (see
// index.restore), without waiting for their locks. One whose stripe had a
// removal since it was dropped (a Delete or Clear, which found it out of
// the index) goes back only if its file is still there, looked at after
// reading the stripe's count of removals: a removal of the file after the
// look counts after that reading, and either comes before the put-back,
// which refuses it, or after, and takes the key out again. It tries a few
// times while removals keep coming, and then once more under the stripe's
// semaphore (see putBackLast), so that no victim whose file is there is
// left out of the index: with SweepInterval -1 and no read of its key, none
// would learn it again, and its file would stay out of every bound.
func (s *Store) putBack(victims []victim) {
	stale := s.idx.restore(victims)
	for tries := 0; len(stale) > 0 && tries < 3; tries++ {
		var there []victim
		for _, v := range stale {
			v.gen = s.idx.genOf(v.hash[0])
			if !s.noEntry(s.entryOf(v.hash)) {
				there = append(there, v)
			}
		}
		if putBackHook != nil {
			putBackHook()
		}
		stale = s.idx.restore(there)
	}
	// Each goes to the back of the list: the last first, so that the
	// least recently used ends last, evicted first, as restore leaves them.
	for i := len(stale) - 1; i >= 0; i-- {
		s.putBackLast(stale[i])
	}
}

// putBackLast puts v back into the index if its file is there, whatever
// removals its stripe had: putBack's last try, once removals kept it out on
// every other. It looks at the file holding the stripe's semaphore, which
// every removal from the index holds, so that none comes between the look
// and the put-back. It does not wait for the semaphore (see tryLock): when
// another goroutine holds it, v goes back all the same if its file is
// there, and should that goroutine be removing the key right then, the key
// stays in the index with no file behind it, as the least recently used,
// until the next eviction, which takes it first, or a read of it. That
// costs one entry of the bounds for a while; leaving out a file that is
// there would leave it out of them for good.
func (s *Store) putBackLast(v victim) {
	st := &s.stripes[v.hash[0]]
	select {
	case st.sem <- struct{}{}:
		defer func() { <-st.sem }()
	default:
	}
	if !s.noEntry(s.entryOf(v.hash)) {
		s.idx.restoreAny(v)
	}
}

// putBackHook, when not nil, is called by putBack between its look at the
// victims' files and their put-back; tests make removals there.
var putBackHook func()

// overBound reports whether e's file is a regular file over
// Options.MaxBytes. The caller holds e's stripe lock. A victim's file can be
// one when this store indexed the key at a smaller size and a store with a
// larger bound has written it since: the index learns of that only when it
// reads the file or sweeps, and the file is not this store's to evict (it is
// already out of the index, where it stays).
func (s *Store) overBound(e entry) bool {
	fi, err := os.Lstat(e.path)
	return err == nil && fi.Mode().IsRegular() && !s.fits(fi.Size())
}

// removeIfSame removes e's file if it is still the file fi describes (not a
// newer one renamed into place since), and forgets it. It does not wait for
// the lock (see tryLock): when another goroutine or process holds it, the
// file is left for a later read or sweep.
func (s *Store) removeIfSame(e entry, fi fs.FileInfo) {
	st, _ := s.tryLock(e)
	if st == nil {
		return
	}
	defer s.unlock(st)
	if cur, err := os.Lstat(e.path); err == nil && os.SameFile(cur, fi) {
		unlink(e.path)
		s.idx.remove(e.hash)
	}
}
