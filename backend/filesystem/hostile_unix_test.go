//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// plant puts something that is not an entry at key's path, through make,
// and returns the path.
func plant(t *testing.T, s *filesystem.Store, key string, make func(p string) error) string {
	t.Helper()
	p := entryPath(s, key)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, make(p))
	return p
}

func mkfifo(p string) error { return syscall.Mkfifo(p, 0o600) }

// Regression: Get opened an entry's path with a blocking open(2), so a FIFO
// there hung Get (and every request for the key) forever. Before the fix
// this test hung until go test's -timeout.
func TestFIFOAtEntryPathIsAMissWithoutBlocking(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir()})
	plant(t, s, "k", mkfifo)

	_, err := s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	ok, err := s.Has(bg, "k")
	require.NoError(t, err)
	assert.False(t, ok)
	vs, err := s.GetMany(bg, []string{"k"})
	require.NoError(t, err)
	assert.Nil(t, vs[0])
	n, err := s.Incr(bg, "k", 1)
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "Incr counts the FIFO as no entry and replaces it")

	p := plant(t, s, "other", mkfifo)
	_, err = s.Get(bg, "other")
	require.ErrorIs(t, err, backend.ErrNotFound)
	fi, err := os.Lstat(p)
	require.NoError(t, err, "Get leaves what is not the store's alone")
	assert.Equal(t, fs.ModeNamedPipe, fi.Mode().Type())
}

// Regression companion: every other kind of file that is not a regular file
// is a miss, found without blocking, not followed and not removed by a read.
func TestNonRegularFilesAtEntryPathsAreMissesLeftAlone(t *testing.T) {
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	require.NoError(t, os.Mkdir(outside, 0o700))
	// A valid entry for key "k", written by another store: a symbolic link
	// to it must not be followed even though it would decode.
	other := open(t, filesystem.Options{Dir: outside})
	require.NoError(t, other.Set(bg, "k", []byte("through a link"), 0))
	fifo := filepath.Join(outside, "fifo")
	require.NoError(t, mkfifo(fifo))

	s := open(t, filesystem.Options{Dir: filepath.Join(dir, "cache"), SweepInterval: -1})
	cases := []struct {
		name string
		make func(p string) error
	}{
		{"symlink to a valid entry", func(p string) error { return os.Symlink(entryPath(other, "k"), p) }},
		{"symlink to a FIFO", func(p string) error { return os.Symlink(fifo, p) }},
		{"symlink to /dev/zero", func(p string) error { return os.Symlink("/dev/zero", p) }},
		{"dangling symlink", func(p string) error { return os.Symlink(filepath.Join(dir, "nothing"), p) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"unix socket", func(p string) error {
			// Bound in a short directory (a socket's path is at
			// most about 100 bytes), then moved into place.
			short, err := os.MkdirTemp("", "sock")
			if err != nil {
				return err
			}
			defer os.RemoveAll(short)
			fd, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
			if err != nil {
				return err
			}
			defer syscall.Close(fd)
			if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: filepath.Join(short, "s")}); err != nil {
				return err
			}
			return os.Rename(filepath.Join(short, "s"), p)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			key := "k" // the same key as the linked entry: a follow would hit
			require.NoError(t, s.Delete(bg, key))
			p := plant(t, s, key, tc.make)
			before, err := os.Lstat(p)
			require.NoError(t, err)

			_, err = s.Get(bg, key)
			require.ErrorIs(t, err, backend.ErrNotFound)
			after, err := os.Lstat(p)
			require.NoError(t, err)
			assert.Equal(t, before.Mode().Type(), after.Mode().Type(), "a read leaves it alone")

			if before.IsDir() {
				// A directory is never replaced nor removed: writes
				// fail with an error, Delete leaves it.
				require.Error(t, s.Set(bg, key, []byte("mine"), 0))
				require.NoError(t, s.Delete(bg, key))
				fi, err := os.Lstat(p)
				require.NoError(t, err)
				assert.True(t, fi.IsDir())
				require.NoError(t, os.Remove(p))
				return
			}
			// A write replaces the link or node itself (rename(2) never
			// writes through a link).
			require.NoError(t, s.Set(bg, key, []byte("mine"), 0))
			v, err := s.Get(bg, key)
			require.NoError(t, err)
			assert.Equal(t, "mine", string(v))
		})
	}
	v, err := other.Get(bg, "k")
	require.NoError(t, err, "nothing reached through a link was changed")
	assert.Equal(t, "through a link", string(v))
	fi, err := os.Lstat(fifo)
	require.NoError(t, err)
	assert.Equal(t, fs.ModeNamedPipe, fi.Mode().Type())
}

// The sweep walks every file of the namespace: things that are not regular
// files at entry paths neither stop it nor are removed by it, and Close
// returns.
func TestSweepSkipsNonRegularFiles(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := filesystem.New(filesystem.Options{Dir: dir, SweepInterval: time.Minute})
		require.NoError(t, err)
		require.NoError(t, s.Set(bg, "expiring", []byte("v"), time.Second))
		fifo := plant(t, s, "fifo", mkfifo)
		link := plant(t, s, "link", func(p string) error { return os.Symlink(fifo, p) })
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		_, err = os.Stat(entryPath(s, "expiring"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "the sweep ran past them")
		for _, p := range []string{fifo, link} {
			_, err := os.Lstat(p)
			assert.NoError(t, err, "left alone")
		}
		require.NoError(t, s.Close())
	})
}

// Regression: Get read a whole file at an entry's path, up to MaxBytes
// (1 GiB by default), into memory before it looked at its header: a large
// foreign file cost its size in memory on every Get. Now the header and key
// come first.
func TestHugeForeignFileIsNotReadWhole(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir()})
	const size = 512 << 20
	p := plant(t, s, "k", func(p string) error {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := f.WriteString("not an entry header, whatever follows"); err != nil {
			return err
		}
		return f.Truncate(size) // sparse: no disk used
	})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := s.Get(bg, "k")
	runtime.ReadMemStats(&after)
	require.ErrorIs(t, err, backend.ErrNotFound)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated by one Get")
	_, err = os.Lstat(p)
	assert.ErrorIs(t, err, fs.ErrNotExist, "a foreign regular file at an entry path is removed, as documented")
}

// Regression: Set, Add, Incr and Delete waited on the subdirectory's lock
// file with a blocking flock(2): a process that held it (stopped, or
// hostile) hung them forever, whatever their context said.
func TestLockHeldByAnotherProcessHonoursContext(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := filesystem.New(filesystem.Options{Dir: dir, SweepInterval: -1})
		require.NoError(t, err)
		require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
		// Another open of the lock file stands for another process.
		lf, err := os.OpenFile(filepath.Join(filepath.Dir(entryPath(s, "k")), ".lock"), os.O_RDWR, 0)
		require.NoError(t, err)
		defer lf.Close()
		require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_EX))
		// A second key in the same subdirectory, so under the same lock.
		k2 := "k2"
		for i := 0; filepath.Dir(entryPath(s, k2)) != filepath.Dir(entryPath(s, "k")); i++ {
			k2 = fmt.Sprint("k2/", i)
		}

		ops := map[string]func(ctx context.Context) error{
			"Set":    func(ctx context.Context) error { return s.Set(ctx, "k", []byte("w"), 0) },
			"Add":    func(ctx context.Context) error { _, err := s.Add(ctx, k2, []byte("w"), 0); return err },
			"Incr":   func(ctx context.Context) error { _, err := s.Incr(ctx, "k", 1); return err },
			"Delete": func(ctx context.Context) error { return s.Delete(ctx, "k") },
		}
		for name, op := range ops {
			ctx, cancel := context.WithTimeout(bg, time.Second)
			err := op(ctx)
			cancel()
			assert.ErrorIs(t, err, context.DeadlineExceeded, name)
		}
		v, err := s.Get(bg, "k")
		require.NoError(t, err, "reads take no lock")
		assert.Equal(t, "v", string(v))

		// Close releases a caller that waits with no deadline at all.
		done := make(chan error)
		go func() { done <- s.Set(bg, "k", []byte("w"), 0) }()
		synctest.Wait()
		require.NoError(t, s.Close())
		assert.ErrorIs(t, <-done, backend.ErrClosed)

		require.NoError(t, syscall.Flock(int(lf.Fd()), syscall.LOCK_UN))
	})
}

// Every call returns a done context's error, before any I/O.
func TestCancelledContextReturnsItsError(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir()})
	require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
	ctx, cancel := context.WithCancel(bg)
	cancel()
	ops := map[string]func() error{
		"Get":     func() error { _, err := s.Get(ctx, "k"); return err },
		"Has":     func() error { _, err := s.Has(ctx, "k"); return err },
		"GetMany": func() error { _, err := s.GetMany(ctx, []string{"k"}); return err },
		"Set":     func() error { return s.Set(ctx, "k", []byte("w"), 0) },
		"Add":     func() error { _, err := s.Add(ctx, "new", []byte("w"), 0); return err },
		"Incr":    func() error { _, err := s.Incr(ctx, "n", 1); return err },
		"Delete":  func() error { return s.Delete(ctx, "k") },
		"Clear":   func() error { return s.Clear(ctx) },
	}
	for name, op := range ops {
		err := op()
		assert.ErrorIs(t, err, context.Canceled, name)
		assert.NotErrorIs(t, err, backend.ErrNotFound, name)
	}
	v, err := s.Get(bg, "k")
	require.NoError(t, err, "nothing was changed")
	assert.Equal(t, "v", string(v))
	for _, k := range []string{"new", "n"} {
		_, err := s.Get(bg, k)
		assert.ErrorIs(t, err, backend.ErrNotFound, k)
	}
}
