package filesystem

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

const (
	// tempMark separates an entry's hash from the random suffix of its
	// temporary files: "<hash>.tmp<random>".
	tempMark = ".tmp"
	// lockName is the lock file of each subdirectory.
	lockName = ".lock"
	// tempMaxAge is how old a temporary file must be for New and the sweep
	// to take it for the leftover of a crashed writer.
	tempMaxAge = time.Hour
	// newerMaxAge is how old a file of a newer format version must be for
	// the sweep to remove it: a newer release still sharing the directory
	// rewrites its entries well within it, and one rolled back leaves
	// files that no store of this release can expire (see the package doc).
	newerMaxAge = 24 * time.Hour
)

// isEntryName reports whether name is an entry file's name: 64 lower-case
// hex digits.
func isEntryName(name string) bool {
	if len(name) != 64 {
		return false
	}
	for i := range len(name) {
		c := name[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// staleTemp reports whether name is one of our temporary files and older
// than age. Its age is by the system's clock, which stamped it, not by
// Options.Clock: a Clock ahead of it (a test's, a skewed one) must not take
// another process's write under way for a leftover.
func (s *Store) staleTemp(name string, de fs.DirEntry, age time.Duration) bool {
	i := strings.Index(name, tempMark)
	if i != 64 || !isEntryName(name[:64]) {
		return false
	}
	fi, err := de.Info()
	return err == nil && time.Since(fi.ModTime()) > age
}

// walk calls fn for every regular file in the namespace's subdirectories
// whose names are two hex digits, but those the store does not trust (see
// trust.dir), and then listed, if not nil, with the stripe of each such
// subdirectory whose files it has all passed to fn; it does not recurse
// further, reads no file, and stops with ctx's error once ctx is done.
func (s *Store) walk(ctx context.Context, fn func(sub, name string, de fs.DirEntry), listed func(b byte)) error {
	subs, err := os.ReadDir(s.root)
	if err != nil {
		return err
	}
	for _, d := range subs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if !d.IsDir() || len(d.Name()) != 2 || !isEntryName(strings.Repeat(d.Name(), 32)) {
			continue
		}
		sub := filepath.Join(s.root, d.Name())
		if fi, err := d.Info(); err != nil || s.trust.dir(sub, fi, false) != nil {
			continue // gone since, or not the store's
		}
		des, err := os.ReadDir(sub)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return err
		}
		for _, de := range des {
			if err := ctx.Err(); err != nil {
				return err
			}
			if de.Type().IsRegular() {
				fn(sub, de.Name(), de)
			}
		}
		if listed != nil {
			listed(unhex(d.Name()[0])<<4 | unhex(d.Name()[1]))
		}
	}
	return nil
}

// load indexes the entry files already in the namespace, oldest modification
// first, so that the least recently written are evicted first. A file over
// Options.MaxBytes is not indexed: it is not this store's to bound (another
// store with a larger bound may have written it), and indexing it would
// evict every other entry. It removes the temporary files older than
// tempMaxAge, as the sweep does: they are crashed writers' leftovers, which
// no bound counts, and without a sweep (Options.SweepInterval -1) nothing
// else would remove them.
func (s *Store) load() error {
	var all []found
	err := s.walk(context.Background(), func(sub, name string, de fs.DirEntry) {
		if s.staleTemp(name, de, tempMaxAge) {
			unlink(filepath.Join(sub, name))
			return
		}
		h, ok := parseHash(name)
		if !ok {
			return
		}
		if fi, err := de.Info(); err == nil && s.fits(fi.Size()) && s.trust.file(fi) {
			all = append(all, found{h, fi.Size(), fi.ModTime().UnixNano()})
		}
	}, nil)
	if err != nil {
		return fmt.Errorf("filesystem: index directory: %w", err)
	}
	slices.SortFunc(all, func(a, b found) int { return cmp.Compare(a.mtime, b.mtime) })
	var victims []victim
	for _, f := range all {
		victims = append(victims, s.idx.put(f.hash, f.size, f.mtime)...)
	}
	s.evict(context.Background(), victims)
	return nil
}

func parseHash(name string) (h [32]byte, ok bool) {
	if !isEntryName(name) {
		return h, false
	}
	for i := range h {
		h[i] = unhex(name[2*i])<<4 | unhex(name[2*i+1])
	}
	return h, true
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return c - 'a' + 10
}

func (s *Store) sweepLoop() {
	defer close(s.done)
	// The sweep's context ends when Close is called, so that Close does
	// not wait for a sweep of a large directory to finish.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-s.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	t := time.NewTicker(s.opts.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// sweep removes expired entry files and stale temporary files, and brings
// the index up to date with the entry files other processes wrote: it
// indexes those this process did not know, if they fit Options.MaxBytes (see
// load), each placed among the entries it knows by its modification time
// (see index.learn), records the new size of each it knew that another
// process rewrote at another size (it keeps its place in the order of uses),
// and drops the keys it knew whose files another process deleted (see
// prune), so that the bounds do not count bytes no longer on disk.
// An entry file over Options.MaxBytes leaves the index (a store with a
// larger bound has written it since this one indexed the key) and is left on
// disk for that store, unless expired. A file of a newer format version
// (a newer release's, sharing the directory) is not taken for corrupt, and
// its expiry cannot be read: one that fits Options.MaxBytes and is under
// newerMaxAge old (by its modification time and the system's clock, as for
// temporary files) is indexed as any file, by size and modification time,
// and goes by eviction; one over MaxBytes, which this store can neither
// bound nor expire, or over newerMaxAge old, is removed. It reads the
// 21-byte header of each entry file, opened as Get opens it (never
// blocking, never following a link, regular files only), and stops once ctx
// is done. Errors are ignored: the next sweep tries again.
func (s *Store) sweep(ctx context.Context) {
	var changed []seen
	// The entry files of the subdirectory being walked, and the stripes
	// whose subdirectories were walked whole.
	names := make(map[[32]byte]struct{})
	var listed [len(s.stripes)]bool
	err := s.walk(ctx, func(sub, name string, de fs.DirEntry) {
		if s.staleTemp(name, de, tempMaxAge) {
			unlink(filepath.Join(sub, name))
			return
		}
		h, ok := parseHash(name)
		if !ok {
			return
		}
		names[h] = struct{}{}
		e := s.entryOf(h)
		f, fi, err := s.openRegular(e.path)
		if err != nil || f == nil {
			return
		}
		defer f.Close()
		var hdr [headerSize]byte
		err = readFull(ctx, f, hdr[:])
		exp, ok := decodeExpiry(hdr[:])
		newer := newerVersion(hdr[:])
		switch {
		case ctx.Err() != nil:
		case newer && (!s.fits(fi.Size()) || time.Since(fi.ModTime()) > newerMaxAge):
			// A newer release's file that this store can neither bound
			// nor expire, or one old enough that no release still
			// running rewrites it (a newer release rolled back).
			s.removeIfSame(e, fi)
		case !newer && (err != nil || !ok || s.expired(exp)):
			// Bad or expired. A newer release's file is neither to this
			// store, which cannot read its expiry: it is indexed below as
			// any file, and goes by eviction.
			s.removeIfSame(e, fi)
		default:
			// Unknown, to drop, or known at another size.
			known, size := s.idx.sizeOf(h)
			if known && (!s.fits(fi.Size()) || size != fi.Size()) || !known && s.fits(fi.Size()) {
				changed = append(changed, seen{e, fi})
			}
		}
	}, func(b byte) {
		listed[b] = true
		s.prune(b, names)
		clear(names)
	})
	// A stripe whose subdirectory the walk did not list (missing or not
	// the store's) has no file it saw: each key of it is looked at. Not
	// after an error (one subdirectory unreadable), which the next sweep
	// may not meet.
	for b := range listed {
		if err != nil && !errors.Is(err, fs.ErrNotExist) || ctx.Err() != nil {
			break
		}
		if !listed[b] {
			s.prune(byte(b), nil)
		}
	}
	// The walk goes subdirectory by subdirectory: the files found are
	// taken into the index a stripe at a time, each stripe under its lock
	// (see learnStripe).
	var victims []victim
	for len(changed) > 0 && ctx.Err() == nil {
		n := 1
		for n < len(changed) && changed[n].e.hash[0] == changed[0].e.hash[0] {
			n++
		}
		victims = append(victims, s.learnStripe(changed[:n])...)
		changed = changed[n:]
	}
	// With those, the victims an eviction skipped and restored since
	// (see evict), even if no Set or read has come to retry them.
	s.evict(ctx, append(victims, s.idx.trim()...))
}

// prune drops from the index the keys of stripe b that are not in names
// (the entry files the sweep's walk listed in the stripe's subdirectory)
// and whose files are gone (see noEntry): another process deleted them, or
// removed their subdirectory. Each is looked at (an lstat) holding the
// stripe's semaphore, as forget does, so that a key this store wrote after
// the walk listed the subdirectory stays; when another goroutine holds it,
// the stripe is left to the next sweep. The index's keys not listed are
// few, but for a subdirectory removed whole.
func (s *Store) prune(b byte, names map[[32]byte]struct{}) {
	gone := s.idx.unlisted(b, names)
	if len(gone) == 0 {
		return
	}
	st := &s.stripes[b]
	select {
	case st.sem <- struct{}{}:
	default:
		return
	}
	defer func() { <-st.sem }()
	for _, h := range gone {
		if s.noEntry(s.entryOf(h)) {
			s.idx.remove(h)
		}
	}
}

// seen is an entry file the sweep found that the index does not know,
// knows at another size, or should not hold (over Options.MaxBytes).
type seen struct {
	e  entry
	fi fs.FileInfo
}

// learnStripe brings the index up to date with files, found by the sweep in
// one subdirectory, and returns the victims to evict once its lock is
// released. It holds the subdirectory's lock, without waiting for it (see
// tryLock), while it checks that each file is still the one the walk saw and
// updates the index, so that no Set or Delete of the key comes in between: a
// key deleted since the walk does not come back into the index with no file
// behind it, and a file written since is not dropped nor recorded at the
// size of the one it replaced. A file replaced since is left to the next
// read or sweep, and so is the whole subdirectory when another goroutine or
// process holds its lock. One merge into the index per subdirectory (see
// index.learn).
func (s *Store) learnStripe(files []seen) []victim {
	st, _ := s.tryLock(files[0].e)
	if st == nil {
		return nil
	}
	defer s.unlock(st)
	var all []found
	var victims []victim
	for _, f := range files {
		cur, err := os.Lstat(f.e.path)
		switch {
		case err != nil || !os.SameFile(cur, f.fi):
		case !s.fits(cur.Size()):
			s.idx.remove(f.e.hash)
		case s.idx.has(f.e.hash):
			victims = append(victims, s.idx.resize(f.e.hash, cur.Size())...)
		default:
			all = append(all, found{f.e.hash, cur.Size(), cur.ModTime().UnixNano()})
		}
	}
	if learnHook != nil {
		learnHook()
	}
	return append(victims, s.idx.learn(all)...)
}

// learnHook, when not nil, is called by the sweep just before it indexes
// the files it found, under their subdirectory's lock; tests make a call
// there.
var learnHook func()
