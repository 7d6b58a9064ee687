package filesystem

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"

	"github.com/go-caching/caching/backend"
)

// openRegular opens the file at path for reading if it is a regular file. It
// never blocks on what it finds there and never follows a symbolic link: a
// FIFO, socket, device, directory or symbolic link gives (nil, nil, nil), as
// a missing file does, and so does a regular file of another user's (see
// trust.file). The checks are made on the opened file (fstat), so the file
// read is the file checked. A file it opens loses the read permission for
// group and others that Options.FileMode does not grant (see trust.tighten).
func (s *Store) openRegular(path string) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		// A symbolic link refused by O_NOFOLLOW (ELOOP on Linux and
		// macOS, other errors on the BSDs), a socket (ENXIO): not ours,
		// and not an error of the store.
		if fi, lerr := os.Lstat(path); lerr == nil && !fi.Mode().IsRegular() {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() || !s.trust.file(fi) {
		f.Close()
		return nil, nil, nil
	}
	s.trust.tighten(f, fi)
	return f, fi, nil
}

// errNotDir reports something other than a directory (a symbolic link, say)
// where the store keeps one of its subdirectories: it is neither followed
// nor written through, so that no file of the store goes outside its
// directory.
var errNotDir = errors.New("not a directory")

// realDir returns nil when dir is a directory itself, not a symbolic link
// to one, that the store trusts (see trust.dir); an error wrapping
// fs.ErrNotExist when nothing is there, one wrapping errNotDir when
// something else is, and one wrapping ErrUntrustedDir for a directory of
// another user's or one that others may write. The checks are made on one
// lstat before each use: they keep out what was planted before the call,
// not what a process able to write the namespace directory swaps in during
// it.
func (s *Store) realDir(dir string) error {
	fi, err := os.Lstat(dir)
	switch {
	case err != nil:
		return err
	case !fi.IsDir():
		return &fs.PathError{Op: "open", Path: dir, Err: errNotDir}
	}
	return s.trust.dir(dir, fi, false)
}

// notOurs reports an error of realDir for a subdirectory that is not the
// store's (not a directory, or not trusted): no entry of the store's can be
// in it, and nothing is to be done there.
func notOurs(err error) bool {
	return errors.Is(err, errNotDir) || errors.Is(err, ErrUntrustedDir)
}

// read is one read of an entry file: the value and expiry when it is a live
// entry for key; ok false when it is missing, expired, corrupt, another
// key's, too large for this store, of a newer format version, or not a
// regular file. fi names a regular file that is not a live entry for key,
// for a removal that must not remove a newer file; it is nil when nothing
// is to be removed (nothing there, something that is not ours: a FIFO, a
// directory, a symbolic link, a live entry too large for this store, or a
// file of a newer format version, a newer release's).
//
// large reports a live entry for key over this store's Options.MaxBytes
// (written by a store with a larger bound sharing the directory): its header and key were checked, its value was not read
// (value is nil, ok false, size is the file's), and it is left for the
// store that wrote it. read, for a caller that holds the key's lock, has
// dropped the key from the index; readHeld leaves that to its caller (see
// Store.forget).
type read struct {
	value  []byte
	expiry int64
	size   int64
	ok     bool
	large  bool
	fi     fs.FileInfo
	// f is, for a readHeld that found a bad file, that file, still open:
	// the caller closes it once it has removed it (see Store.get).
	f *os.File
}

// maxFileSize is the largest file the format can describe.
const maxFileSize = 2*math.MaxUint32 + overhead

// readChunk is how many bytes read reads between two looks at its context.
const readChunk = 1 << 20

// read reads e's file as an entry for key. It checks ctx before it opens the
// file and between chunks of a long read.
func (s *Store) read(ctx context.Context, e entry, key string) (read, error) {
	return s.readFile(ctx, e, key, false)
}

// readHeld is read for a caller that does not hold e's lock (get): the
// file it found bad is returned open (r.f), so that its inode cannot be
// freed and given to a newer file (another process's Delete then Set)
// before removeIfSame compares them; the caller closes it. It does not
// touch the index: a Set of the key may have indexed a new file since the
// read (see Store.forget).
func (s *Store) readHeld(ctx context.Context, e entry, key string) (read, error) {
	return s.readFile(ctx, e, key, true)
}

// readFile is read, or readHeld when unlocked.
func (s *Store) readFile(ctx context.Context, e entry, key string, unlocked bool) (r read, err error) {
	if err := ctx.Err(); err != nil {
		return read{}, fmt.Errorf("filesystem: %w", err)
	}
	if s.realDir(e.sub) != nil {
		return read{}, nil // missing, or not the store's: nothing of ours there
	}
	f, fi, err := s.openRegular(e.path)
	if errors.Is(err, fs.ErrPermission) {
		// One file this process may not read (another user's, made
		// with a mode that shuts it out), in a directory it reads: the
		// store serves the other keys, and a Set of this key replaces
		// the file. Not a failure of the store, which the caching
		// package's circuit breaker would count, switching the whole
		// cache off for one file.
		return read{}, unreadableFile{err}
	}
	if err != nil {
		return read{}, fmt.Errorf("filesystem: %w", err)
	}
	if f == nil {
		return read{}, nil
	}
	defer func() {
		if unlocked && err == nil && !r.ok && !r.large && r.fi != nil {
			r.f = f
			return
		}
		f.Close()
	}()
	r, err = s.readOpen(ctx, e, f, fi, key, unlocked)
	if err == nil && !r.ok && !r.large && r.fi != nil && newerFile(f) {
		// A newer release's entry: a miss, but not a bad file to remove.
		r = read{}
	}
	return r, err
}

// newerFile reports whether f, a file read found not to be an entry of
// this store's, is one of a newer format version (see newerVersion). It
// reads its first bytes again, from the start: only bad files cost it.
func newerFile(f *os.File) bool {
	var h [5]byte
	n, _ := f.ReadAt(h[:], 0)
	return newerVersion(h[:n])
}

// readOpen is readFile's read of f, e's file, open.
func (s *Store) readOpen(ctx context.Context, e entry, f *os.File, fi fs.FileInfo, key string, unlocked bool) (read, error) {
	size := fi.Size()
	if size < overhead || size > maxFileSize {
		return read{fi: fi}, nil // not an entry any store could have written
	}
	if !s.fits(size) {
		// Whatever it is, it is not this store's to bound: a key indexed
		// when it held a smaller file leaves the index, so that eviction
		// never picks it (see evict); here under the caller's lock, or
		// by get through forget.
		if !unlocked {
			s.idx.remove(e.hash)
		}
		return s.readLarge(ctx, f, fi, key)
	}
	b, err := readChecked(ctx, f, size, key)
	if err != nil {
		return read{}, fmt.Errorf("filesystem: read: %w", err)
	}
	if b == nil {
		return read{fi: fi}, nil
	}
	exp, k, v, err := decode(b)
	if err != nil || string(k) != key || s.expired(exp) {
		return read{fi: fi}, nil
	}
	return read{value: v, expiry: exp, size: size, ok: true, fi: fi}, nil
}

// readLarge sorts f, a file over this store's Options.MaxBytes, from its
// header and key alone: a live entry for key is large, left alone; anything
// else (a foreign file, another key's entry, an expired one)
// is a bad file, as in read. The value is never read: this store does not
// hold entries over its bound, in memory or in its index.
func (s *Store) readLarge(ctx context.Context, f *os.File, fi fs.FileInfo, key string) (read, error) {
	hdr, ok, err := readHead(ctx, f, fi.Size(), key)
	if err != nil {
		return read{}, fmt.Errorf("filesystem: read: %w", err)
	}
	if exp, _ := decodeExpiry(hdr[:]); !ok || s.expired(exp) {
		return read{fi: fi}, nil
	}
	return read{large: true, size: fi.Size()}, nil
}

// smallFile is the size up to which read reads a file in one go; larger
// files are read header and key first.
const smallFile = 64 << 10

// readChecked reads the whole file f of size bytes, or nil when it is not
// an entry for key (a file that shrank under us counts as one that is not).
// A small file is read in one read(2); of a larger one, the header and key
// are read and checked before the rest is allocated: a large file that is
// not an entry for key costs one small read.
func readChecked(ctx context.Context, f *os.File, size int64, key string) ([]byte, error) {
	if size <= smallFile {
		b := make([]byte, size)
		if err := readFull(ctx, f, b); err != nil {
			return shortRead(err)
		}
		return b, nil
	}
	hdr, ok, err := readHead(ctx, f, size, key)
	if err != nil || !ok {
		return nil, err
	}
	b := make([]byte, size)
	n := copy(b, hdr[:])
	n += copy(b[n:], key)
	if err := readFull(ctx, f, b[n:]); err != nil {
		return shortRead(err)
	}
	return b, nil
}

// readHead reads the header and the key of f, a file of size bytes, and
// reports whether they are those of an entry for key (a file that shrank
// under us is not); it reads no further, and reads the key only after a
// header that fits it.
func readHead(ctx context.Context, f *os.File, size int64, key string) (hdr [headerSize]byte, ok bool, err error) {
	if err := readFull(ctx, f, hdr[:]); err != nil {
		_, err = shortRead(err)
		return hdr, false, err
	}
	if !headerFits(hdr[:], size, len(key)) {
		return hdr, false, nil
	}
	k := make([]byte, len(key))
	if err := readFull(ctx, f, k); err != nil {
		_, err = shortRead(err)
		return hdr, false, err
	}
	return hdr, string(k) == key, nil
}

// shortRead sorts a failed read: a file that shrank under us is not one to
// trust (nil, nil); the context's end and I/O errors are errors.
func shortRead(err error) ([]byte, error) {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return nil, nil
	}
	return nil, err
}

// readFull fills b from f, readChunk bytes at a time, and stops with the
// context's error between two chunks once ctx is done.
func readFull(ctx context.Context, f *os.File, b []byte) error {
	for len(b) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		n, err := io.ReadFull(f, b[:min(len(b), readChunk)])
		if err != nil {
			return err
		}
		b = b[n:]
	}
	return nil
}

// unreadableFile is the error of a read of an entry file this process may
// not read (err, the system's). It wraps backend.ErrKeyRefused, so that
// errors.Is tells it, without that error's text: "key refused by its
// server" speaks of a server the store does not have.
type unreadableFile struct{ err error }

func (e unreadableFile) Error() string {
	return "filesystem: this process may not read the key's entry file (another user's, " +
		"with a FileMode that shuts this one out?): " + e.err.Error()
}

func (e unreadableFile) Unwrap() []error { return []error{backend.ErrKeyRefused, e.err} }
