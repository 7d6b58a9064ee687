package filesystem_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/backendtest"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/internal/testutil"
)

func open(t *testing.T, o filesystem.Options) *filesystem.Store {
	t.Helper()
	s, err := filesystem.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// entryPath is where the store keeps key, per the documented layout.
func entryPath(s *filesystem.Store, key string) string {
	h := sha256.Sum256([]byte(key))
	x := hex.EncodeToString(h[:])
	return filepath.Join(s.Dir(), x[:2], x)
}

var bg = context.Background()

// conformanceMaxBytes bounds the conformance run's stores: well above what
// the suite keeps, so that nothing it checks is evicted, and small enough
// for its too-large value to be cheap to make.
const conformanceMaxBytes = 8 << 20

func TestConformance(t *testing.T) {
	clk := testutil.NewClock()
	dir := t.TempDir()
	n := 0
	backendtest.RunWith(t, func(t *testing.T) backend.Backend {
		n++
		return filesystem.Must(filesystem.Options{Dir: dir, Namespace: fmt.Sprint("ns", n), Clock: clk.Now, MaxBytes: conformanceMaxBytes})
	}, backendtest.Options{Advance: clk.Advance, TooLarge: conformanceMaxBytes})
}

func TestConformanceRealClock(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps for expiry")
	}
	backendtest.Run(t, func(t *testing.T) backend.Backend {
		return filesystem.Must(filesystem.Options{Dir: t.TempDir(), Sync: true})
	})
}

func TestOptionsValidation(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		o    filesystem.Options
		want string
	}{
		{"no dir", filesystem.Options{}, "Options.Dir"},
		{"dotdot namespace", filesystem.Options{Dir: dir, Namespace: ".."}, "Options.Namespace"},
		{"slash namespace", filesystem.Options{Dir: dir, Namespace: "a/b"}, "Options.Namespace"},
		{"max entries", filesystem.Options{Dir: dir, MaxEntries: -2}, "Options.MaxEntries"},
		{"max bytes", filesystem.Options{Dir: dir, MaxBytes: -5}, "Options.MaxBytes"},
		{"file mode", filesystem.Options{Dir: dir, FileMode: fs.ModeDir | 0o600}, "Options.FileMode"},
		// Regression: modes that shut the store's own user out were
		// accepted (file_mode=060, a typo for 0660): every read of its own
		// entries failed, and, with DirMode, every write.
		{"file mode owner cannot read", filesystem.Options{Dir: dir, FileMode: 0o060}, "Options.FileMode"},
		{"file mode write only", filesystem.Options{Dir: dir, FileMode: 0o200}, "Options.FileMode"},
		// Regression: a FileMode without owner write was accepted. On
		// Windows it makes entry files read-only, which a rename does not
		// replace: a key's second Set failed and its old entry stayed. On
		// Unix its lock files open for reading only (no exclusive lock on
		// NFS). Refused on every system, so that Options valid on one are
		// valid on all.
		{"file mode owner cannot write", filesystem.Options{Dir: dir, FileMode: 0o400}, "Options.FileMode 0400 must let its owner read and write"},
		{"file mode group shares, owner cannot write", filesystem.Options{Dir: dir, FileMode: 0o440, DirMode: 0o750}, "Options.FileMode 0440 must let its owner read and write"},
		{"dir mode owner cannot write", filesystem.Options{Dir: dir, DirMode: 0o570}, "Options.DirMode"},
		{"dir mode owner cannot search", filesystem.Options{Dir: dir, DirMode: 0o670}, "Options.DirMode"},
		{"dir mode group only", filesystem.Options{Dir: dir, DirMode: 0o070}, "Options.DirMode"},
		{"sweep", filesystem.Options{Dir: dir, SweepInterval: -time.Second}, "Options.SweepInterval"},
		{"clock before 1970", filesystem.Options{Dir: dir, Clock: func() time.Time { return time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC) }}, "Options.Clock"},
		{"zero clock", filesystem.Options{Dir: dir, Clock: func() time.Time { return time.Time{} }}, "Options.Clock"},
		{"clock after 2262", filesystem.Options{Dir: dir, Clock: func() time.Time { return time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) }}, "Options.Clock"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := filesystem.New(tc.o)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "filesystem: "), err.Error())
		})
	}
}

// TestFileModeOwnerWriteSaysWhatToGive: New refuses a FileMode without
// owner read and write on every system since 5f6b31f, where Unix took
// 0o400 and 0o440 (a cache whose group only reads) and the store worked.
// The error said the mode "must let its owner read and write (0o600): the
// store could not use its own files": untrue on Unix, and 0o600 takes the
// group's read away from a cache shared so. It names the mode to give, the
// one asked for with the owner's read and write added, which grants no one
// anything new: the owner of the directories may replace the files anyway.
func TestFileModeOwnerWriteSaysWhatToGive(t *testing.T) {
	dir := t.TempDir()
	for mode, give := range map[fs.FileMode]string{0o400: "0600", 0o440: "0640", 0o040: "0640", 0o060: "0660", 0o200: "0600"} {
		_, err := filesystem.New(filesystem.Options{Dir: dir, FileMode: mode, DirMode: 0o750})
		require.ErrorIs(t, err, backend.ErrInvalidOption, "%04o", mode)
		assert.Contains(t, err.Error(), "give FileMode "+give, "%04o", mode)
		assert.NotContains(t, err.Error(), "could not use its own files", "%04o: the store could, on Unix", mode)
	}
}

func TestBadFilesAreMisses(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir()})
	cases := map[string]func(b []byte) []byte{
		"truncated":   func(b []byte) []byte { return b[:len(b)-3] },
		"corrupt":     func(b []byte) []byte { b[len(b)/2] ^= 0x55; return b },
		"empty":       func(b []byte) []byte { return nil },
		"foreign":     func(b []byte) []byte { return []byte("#!/bin/sh\necho not a cache entry\n") },
		"another key": nil, // filled below: a valid entry for another key
	}
	for name, mangle := range cases {
		t.Run(name, func(t *testing.T) {
			key := "k/" + name
			require.NoError(t, s.Set(bg, key, []byte("some value"), 0))
			p := entryPath(s, key)
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			if mangle == nil {
				require.NoError(t, s.Set(bg, "other", []byte("v"), 0))
				b, err = os.ReadFile(entryPath(s, "other"))
				require.NoError(t, err)
			} else {
				b = mangle(b)
			}
			require.NoError(t, os.WriteFile(p, b, 0o600))
			_, err = s.Get(bg, key)
			require.ErrorIs(t, err, backend.ErrNotFound)
			_, err = os.Stat(p)
			assert.ErrorIs(t, err, fs.ErrNotExist, "a bad file is removed")
			ok, err := s.Add(bg, key, []byte("new"), 0)
			require.NoError(t, err)
			assert.True(t, ok)
		})
	}
}

func TestPathTraversalKeysStayInside(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "cache")
	s := open(t, filesystem.Options{Dir: dir})
	keys := []string{"../../etc/passwd", "/etc/passwd", "..", "../outside", "a/../../b", "\x00", "C:\\windows"}
	for _, k := range keys {
		require.NoError(t, s.Set(bg, k, []byte(k), 0))
	}
	// Nothing was written outside dir.
	des, err := os.ReadDir(root)
	require.NoError(t, err)
	require.Len(t, des, 1)
	// Every file inside has a hash for a name.
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		if d.Type().IsRegular() && d.Name() != ".lock" {
			assert.Len(t, d.Name(), 64, p)
		}
		return nil
	})
	require.NoError(t, err)
	for _, k := range keys {
		v, err := s.Get(bg, k)
		require.NoError(t, err)
		assert.Equal(t, k, string(v))
	}
}

func TestPermissions(t *testing.T) {
	t.Run("default", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "c")
		s := open(t, filesystem.Options{Dir: dir})
		require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
		assertMode(t, entryPath(s, "k"), 0o600)
		assertMode(t, filepath.Dir(entryPath(s, "k")), 0o700)
		assertMode(t, s.Dir(), 0o700)
	})
	t.Run("configured", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "c")
		s := open(t, filesystem.Options{Dir: dir, FileMode: 0o640, DirMode: 0o750})
		require.NoError(t, s.Set(bg, "k", []byte("v"), 0))
		assertMode(t, entryPath(s, "k"), 0o640)
		assertMode(t, filepath.Dir(entryPath(s, "k")), 0o750&^umask())
	})
}

func umask() fs.FileMode {
	// MkdirAll's mode is filtered by the umask; find it from a probe.
	d := filepath.Join(os.TempDir(), fmt.Sprintf("umask-probe-%d", os.Getpid()))
	if err := os.Mkdir(d, 0o777); err != nil {
		return 0
	}
	defer os.Remove(d)
	fi, err := os.Stat(d)
	if err != nil {
		return 0
	}
	return 0o777 &^ fi.Mode().Perm()
}

func assertMode(t *testing.T, p string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, want, fi.Mode().Perm(), p)
}

func TestUnwritableDirectoryIsAnError(t *testing.T) {
	t.Run("dir under a regular file", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(f, nil, 0o600))
		_, err := filesystem.New(filesystem.Options{Dir: filepath.Join(f, "cache")})
		var pe *fs.PathError
		require.ErrorAs(t, err, &pe)
	})
	t.Run("subdirectory replaced by a file", func(t *testing.T) {
		s := open(t, filesystem.Options{Dir: t.TempDir()})
		sub := filepath.Dir(entryPath(s, "k"))
		require.NoError(t, os.WriteFile(sub, []byte("in the way"), 0o600))
		err := s.Set(bg, "k", []byte("v"), 0)
		require.Error(t, err)
		assert.NotErrorIs(t, err, backend.ErrNotFound)
		var pe *fs.PathError
		assert.ErrorAs(t, err, &pe)
		_, err = s.Get(bg, "k")
		require.Error(t, err, "reading through a file where a directory should be")
	})
	t.Run("read-only directory", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root writes to read-only directories; covered by the cases above")
		}
		dir := t.TempDir()
		s := open(t, filesystem.Options{Dir: dir})
		require.NoError(t, os.Chmod(s.Dir(), 0o500))
		t.Cleanup(func() { os.Chmod(s.Dir(), 0o700) })
		var pe *fs.PathError
		require.ErrorAs(t, s.Set(bg, "k", []byte("v"), 0), &pe)
	})
}

func TestClearLeavesOtherFilesAlone(t *testing.T) {
	dir := t.TempDir()
	a := open(t, filesystem.Options{Dir: dir, Namespace: "a"})
	b := open(t, filesystem.Options{Dir: dir, Namespace: "b"})
	require.NoError(t, a.Set(bg, "k", []byte("a"), 0))
	require.NoError(t, b.Set(bg, "k", []byte("b"), 0))
	sub := filepath.Dir(entryPath(a, "k"))
	foreign := []string{
		filepath.Join(dir, "README"),
		filepath.Join(a.Dir(), "notes.txt"),
		filepath.Join(sub, "not-a-hash"),
		filepath.Join(sub, strings.Repeat("A", 64)), // upper-case: not ours
	}
	for _, f := range foreign {
		require.NoError(t, os.WriteFile(f, []byte("keep me"), 0o600))
	}
	require.NoError(t, a.Clear(bg))
	_, err := a.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	v, err := b.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "b", string(v))
	for _, f := range foreign {
		got, err := os.ReadFile(f)
		require.NoError(t, err, f)
		assert.Equal(t, "keep me", string(got))
	}
}

func TestTwoStoresShareADirectory(t *testing.T) {
	dir := t.TempDir()
	a := open(t, filesystem.Options{Dir: dir})
	b := open(t, filesystem.Options{Dir: dir})
	require.NoError(t, a.Set(bg, "k", []byte("from a"), 0))
	v, err := b.Get(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, "from a", string(v))

	ok, err := b.Add(bg, "k", []byte("from b"), 0)
	require.NoError(t, err)
	assert.False(t, ok, "Add sees the other store's entry")

	// Counters are atomic across the two stores (each holds its own lock
	// file descriptors, as two processes would).
	var wg sync.WaitGroup
	for _, s := range []*filesystem.Store{a, b, a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if _, err := s.Incr(bg, "n", 1); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// Readers never see a torn value while the others write.
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 200 {
			val := strings.Repeat(string(rune('a'+i%26)), 10_000)
			if err := a.Set(bg, "big", []byte(val), 0); err != nil {
				t.Error(err)
				return
			}
			got, err := b.Get(bg, "big")
			if err != nil {
				t.Error(err)
				return
			}
			if strings.Count(string(got), string(got[:1])) != len(got) {
				t.Error("torn read")
				return
			}
		}
	}()
	wg.Wait()
	v, err = a.Get(bg, "n")
	require.NoError(t, err)
	assert.Equal(t, "200", string(v))

	require.NoError(t, b.Delete(bg, "k"))
	_, err = a.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestBoundsEvictLeastRecentlyUsed(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxEntries: 10})
	// Never-expiring entries first, then expiring ones: Flask evicted the
	// never-expiring first; here only use counts.
	for i := range 10 {
		ttl := time.Duration(0)
		if i >= 5 {
			ttl = time.Hour
		}
		require.NoError(t, s.Set(bg, fmt.Sprint("k", i), []byte("v"), ttl))
	}
	for i := range 3 { // k0..k2 (never expiring) used recently
		_, err := s.Get(bg, fmt.Sprint("k", i))
		require.NoError(t, err)
	}
	for i := 10; i < 15; i++ {
		require.NoError(t, s.Set(bg, fmt.Sprint("k", i), []byte("v"), 0))
	}
	present := func(k string) bool {
		_, err := os.Stat(entryPath(s, k))
		return err == nil
	}
	for i := range 3 {
		assert.True(t, present(fmt.Sprint("k", i)), "recently read k%d kept", i)
	}
	for i := 3; i < 8; i++ {
		assert.False(t, present(fmt.Sprint("k", i)), "least recently used k%d evicted", i)
	}
	for i := 8; i < 15; i++ {
		assert.True(t, present(fmt.Sprint("k", i)), "k%d kept", i)
	}
	st := s.Stats()
	assert.Equal(t, int64(10), st.Entries)
	assert.Equal(t, int64(5), st.Evictions)
}

func TestBoundsBytes(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxBytes: 10_000})
	err := s.Set(bg, "huge", make([]byte, 10_000), 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	for i := range 20 {
		require.NoError(t, s.Set(bg, fmt.Sprint("k", i), make([]byte, 1000), 0))
	}
	st := s.Stats()
	assert.LessOrEqual(t, st.Bytes, int64(10_000))
	assert.Equal(t, int64(9), st.Entries) // 9 files of 1000+25+2 bytes
	_, err = s.Get(bg, "k19")
	require.NoError(t, err)
}

func TestReopenIndexesExistingFiles(t *testing.T) {
	dir := t.TempDir()
	a := open(t, filesystem.Options{Dir: dir})
	for i := range 20 {
		require.NoError(t, a.Set(bg, fmt.Sprint("k", i), []byte("v"), 0))
	}
	require.NoError(t, a.Close())
	b := open(t, filesystem.Options{Dir: dir, MaxEntries: 5})
	assert.Equal(t, int64(5), b.Stats().Entries)
	v, err := b.Get(bg, "k19")
	require.NoError(t, err, "the most recently written survive")
	assert.Equal(t, "v", string(v))
	_, err = b.Get(bg, "k0")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

func TestSweepRemovesExpiredAndStopsOnClose(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		s, err := filesystem.New(filesystem.Options{Dir: dir, SweepInterval: time.Minute})
		require.NoError(t, err)
		require.NoError(t, s.Set(bg, "short", []byte("v"), 30*time.Second))
		require.NoError(t, s.Set(bg, "long", []byte("v"), time.Hour))
		other := filepath.Join(s.Dir(), "keep")
		require.NoError(t, os.WriteFile(other, nil, 0o600))
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		_, err = os.Stat(entryPath(s, "short"))
		assert.ErrorIs(t, err, fs.ErrNotExist, "the sweep removed the expired file")
		_, err = os.Stat(entryPath(s, "long"))
		assert.NoError(t, err)
		_, err = os.Stat(other)
		assert.NoError(t, err)
		require.NoError(t, s.Close())
		require.NoError(t, s.Close())
		// synctest.Test fails if the sweep goroutine outlives Close.
	})
}

func TestExpiredFileRemovedOnRead(t *testing.T) {
	clk := testutil.NewClock()
	s := open(t, filesystem.Options{Dir: t.TempDir(), Clock: clk.Now, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), time.Second))
	clk.Advance(time.Second)
	_, err := s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = os.Stat(entryPath(s, "k"))
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestClockBefore1970DoesNotMakeEntriesLiveForever: with an Options.Clock
// reading before 1970, the expiry of a Set with a TTL overflowed to the
// largest one the format holds, and the entry was served for ever after its
// TTL. Expiries are Unix nanoseconds, shared with the other processes
// reading the directory, and an entry file holds none before 1970: New
// refuses such a clock (see TestOptionsValidation), and a Set or Add with a
// TTL while the clock reads one fails and stores nothing.
func TestClockBefore1970DoesNotMakeEntriesLiveForever(t *testing.T) {
	clk := testutil.NewClock()
	back := false
	s := open(t, filesystem.Options{Dir: t.TempDir(), SweepInterval: -1, Clock: func() time.Time {
		if back {
			return time.Date(1969, 7, 20, 20, 17, 0, 0, time.UTC)
		}
		return clk.Now()
	}})
	back = true // a test clock set back, a clock reset
	err := s.Set(bg, "k", []byte("v"), time.Minute)
	require.ErrorIs(t, err, backend.ErrInvalidOption)
	assert.Contains(t, err.Error(), "Options.Clock")
	_, err = s.Add(bg, "k", []byte("v"), time.Minute)
	require.ErrorIs(t, err, backend.ErrInvalidOption)
	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "nothing stored")

	require.NoError(t, s.Set(bg, "forever", []byte("v"), 0), "no TTL, no expiry to compute")
	back = false
	require.NoError(t, s.Set(bg, "k", []byte("v"), time.Minute))
	clk.Advance(time.Minute)
	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound, "expired after its TTL")
}

func TestIncrKeepsExpiryAndRejectsOverflow(t *testing.T) {
	clk := testutil.NewClock()
	s := open(t, filesystem.Options{Dir: t.TempDir(), Clock: clk.Now})
	require.NoError(t, s.Set(bg, "n", []byte("1"), time.Minute))
	n, err := s.Incr(bg, "n", -3)
	require.NoError(t, err)
	assert.Equal(t, int64(-2), n)
	clk.Advance(time.Minute)
	_, err = s.Get(bg, "n")
	require.ErrorIs(t, err, backend.ErrNotFound, "Incr kept the expiry")
	require.NoError(t, s.Set(bg, "max", []byte("9223372036854775807"), 0))
	_, err = s.Incr(bg, "max", 1)
	require.ErrorIs(t, err, backend.ErrNotInteger)
}

func TestErrorsDoNotHoldKeys(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxBytes: 100})
	err := s.Set(bg, "secret-token-123", make([]byte, 200), 0)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.NotContains(t, err.Error(), "secret-token-123")
	assert.True(t, errors.Is(s.Close(), nil))
}

// Incr under a key too long for Options.MaxBytes wrote a file Set would have
// refused: putting it in the index evicted every other entry from disk, and
// every read took the file for a foreign one and removed it, so that the
// counter never passed 1. It must be refused, as Set is, and lose nothing.
func TestIncrWithKeyOverMaxBytesIsRefused(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxBytes: 10_000, SweepInterval: -1})
	for i := range 5 {
		require.NoError(t, s.Set(bg, fmt.Sprint("k", i), []byte("v"), 0))
	}
	long := strings.Repeat("x", 10_000)
	n, err := s.Incr(bg, long, 1)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "Incr returned %d", n)
	_, err = os.Stat(entryPath(s, long))
	assert.ErrorIs(t, err, fs.ErrNotExist, "no file over MaxBytes written")
	for i := range 5 {
		v, err := s.Get(bg, fmt.Sprint("k", i))
		require.NoError(t, err, "k%d was evicted", i)
		assert.Equal(t, "v", string(v))
	}
}

// twoBounds opens two Stores on one directory, small with a MaxBytes under
// the size of big's entry for "k", which big has just written; it returns
// them and that entry's value.
func twoBounds(t *testing.T, dir string) (small, big *filesystem.Store, value []byte) {
	t.Helper()
	small = open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, SweepInterval: -1})
	big = open(t, filesystem.Options{Dir: dir, MaxBytes: 100_000, SweepInterval: -1})
	value = []byte(strings.Repeat("v", 5000))
	require.NoError(t, big.Set(bg, "k", value, time.Hour))
	return small, big, value
}

// requireKept fails unless s still reads value under key.
func requireKept(t *testing.T, s *filesystem.Store, key string, value []byte) {
	t.Helper()
	v, err := s.Get(bg, key)
	require.NoError(t, err, "the entry was lost")
	require.Equal(t, string(value), string(v))
}

// Regression: a Store took an entry over its own MaxBytes, written by a
// Store with a larger one on the same directory, for a foreign file, and
// removed it on every read. It is a miss for the smaller Store, which
// leaves it to the other.
func TestEntryOverMaxBytesIsAMissLeftToTheStoreThatWroteIt(t *testing.T) {
	small, big, value := twoBounds(t, t.TempDir())

	_, err := small.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	ok, err := small.Has(bg, "k")
	require.NoError(t, err)
	assert.False(t, ok, "Has")
	vs, err := small.GetMany(bg, []string{"k"})
	require.NoError(t, err)
	assert.Equal(t, [][]byte{nil}, vs, "GetMany")
	assert.Zero(t, small.Stats().Entries, "the entry does not count against the smaller store's bounds")

	requireKept(t, big, "k", value)
}

// The smaller Store does not write over a live entry it cannot read: Add
// finds it there, Incr refuses it as too large, as it would refuse to write
// it. Delete, asked for it by name, removes it.
func TestEntryOverMaxBytesIsNotOverwritten(t *testing.T) {
	small, big, value := twoBounds(t, t.TempDir())

	ok, err := small.Add(bg, "k", []byte("w"), 0)
	require.NoError(t, err)
	assert.False(t, ok, "Add found the live entry")
	_, err = small.Incr(bg, "k", 1)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	requireKept(t, big, "k", value)

	n, err := small.DeleteCount(bg, "k")
	require.NoError(t, err)
	assert.Equal(t, 1, n, "DeleteCount counts the live entry")
	_, err = big.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
}

// A Store opened, or sweeping, on a directory that holds an entry over its
// MaxBytes leaves it alone, and evicts none of its own entries for it.
func TestEntryOverMaxBytesSurvivesOpenAndSweep(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		_, big, value := twoBounds(t, dir)
		require.NoError(t, big.Set(bg, "small", []byte("v"), 0))

		s := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, SweepInterval: time.Minute})
		assert.Equal(t, int64(1), s.Stats().Entries, "New indexed the entry that fits")
		requireKept(t, s, "small", []byte("v"))
		requireKept(t, big, "k", value)

		require.NoError(t, big.Set(bg, "k2", value, 0))
		setMtime(t, big, "k2", time.Now().Add(-48*time.Hour)) // however old, it is big's
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, int64(1), s.Stats().Entries, "the sweep indexed the entries that fit")
		requireKept(t, s, "small", []byte("v"))
		requireKept(t, big, "k2", value)
	})
}

// What is over a Store's MaxBytes and is not a live entry for the key (a
// foreign file, another key's entry, an expired entry) is removed on read,
// as any bad file is.
func TestBadFilesOverMaxBytesAreRemoved(t *testing.T) {
	clk := testutil.NewClock()
	dir := t.TempDir()
	small := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, Clock: clk.Now, SweepInterval: -1})
	big := open(t, filesystem.Options{Dir: dir, MaxBytes: -1, Clock: clk.Now, SweepInterval: -1})
	value := make([]byte, 5000)
	require.NoError(t, big.Set(bg, "other", value, 0))
	other, err := os.ReadFile(entryPath(big, "other"))
	require.NoError(t, err)
	write := func(t *testing.T, key string, b []byte) {
		p := entryPath(small, key)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
		require.NoError(t, os.WriteFile(p, b, 0o600))
	}
	cases := map[string]func(t *testing.T, key string){
		"foreign": func(t *testing.T, key string) {
			write(t, key, []byte(strings.Repeat("#!/bin/sh\n", 500)))
		},
		"another key": func(t *testing.T, key string) { write(t, key, other) },
		"expired": func(t *testing.T, key string) {
			require.NoError(t, big.Set(bg, key, value, time.Second))
			clk.Advance(time.Second)
		},
	}
	for name, plant := range cases {
		t.Run(name, func(t *testing.T) {
			key := "k/" + name
			plant(t, key)
			_, err := small.Get(bg, key)
			require.ErrorIs(t, err, backend.ErrNotFound)
			_, err = os.Stat(entryPath(small, key))
			assert.ErrorIs(t, err, fs.ErrNotExist, "a bad file is removed")
		})
	}
}

// Regression: a smaller Store that had indexed a key (it wrote a small value
// there) kept it in its index, at its old size, after a Store with a larger
// MaxBytes replaced the file with an entry over the smaller bound. When the
// key became its least recently used, it evicted the larger Store's entry.
func TestStaleIndexDoesNotEvictTheLargerStoresEntry(t *testing.T) {
	dir := t.TempDir()
	small := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, SweepInterval: -1})
	big := open(t, filesystem.Options{Dir: dir, MaxBytes: 100_000, SweepInterval: -1})
	require.NoError(t, small.Set(bg, "k", []byte("tiny"), 0))
	value := []byte(strings.Repeat("v", 5000))
	require.NoError(t, big.Set(bg, "k", value, 0))

	for i := range 20 {
		require.NoError(t, small.Set(bg, fmt.Sprint("k", i), make([]byte, 100), 0))
	}
	requireKept(t, big, "k", value)
	evicted := 0
	for i := range 20 {
		if _, err := os.Stat(entryPath(small, fmt.Sprint("k", i))); errors.Is(err, fs.ErrNotExist) {
			evicted++
		}
	}
	assert.Equal(t, int64(evicted), small.Stats().Evictions, "only the smaller store's own files count as evicted")
	assert.LessOrEqual(t, small.Stats().Bytes, int64(1000))
}

// A smaller Store that meets, at a key it had indexed, an entry over its
// MaxBytes that a larger Store wrote since drops the key from its index, on
// every path that reads the file: the entry is not its to bound.
func TestEntryOverMaxBytesLeavesTheIndex(t *testing.T) {
	cases := map[string]func(t *testing.T, s *filesystem.Store){
		"Get": func(t *testing.T, s *filesystem.Store) {
			_, err := s.Get(bg, "k")
			require.ErrorIs(t, err, backend.ErrNotFound)
		},
		"Add": func(t *testing.T, s *filesystem.Store) {
			ok, err := s.Add(bg, "k", []byte("w"), 0)
			require.NoError(t, err)
			assert.False(t, ok)
		},
		"Incr": func(t *testing.T, s *filesystem.Store) {
			_, err := s.Incr(bg, "k", 1)
			require.ErrorIs(t, err, backend.ErrValueTooLarge)
		},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			small := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, SweepInterval: -1})
			big := open(t, filesystem.Options{Dir: dir, MaxBytes: 100_000, SweepInterval: -1})
			require.NoError(t, small.Set(bg, "k", []byte("1"), 0))
			value := []byte(strings.Repeat("v", 5000))
			require.NoError(t, big.Set(bg, "k", value, 0))

			op(t, small)
			st := small.Stats()
			assert.Zero(t, st.Entries, "entries in the smaller store's index")
			assert.Zero(t, st.Bytes, "bytes in the smaller store's index")
			requireKept(t, big, "k", value)
		})
	}
}

// The sweep drops from the index a key it had whose file a larger Store has
// since replaced with an entry over this Store's MaxBytes.
func TestSweepDropsEntryOverMaxBytesFromTheIndex(t *testing.T) {
	dir := t.TempDir()
	synctest.Test(t, func(t *testing.T) {
		small := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, SweepInterval: time.Minute})
		big := open(t, filesystem.Options{Dir: dir, MaxBytes: 100_000, SweepInterval: -1})
		require.NoError(t, small.Set(bg, "k", []byte("tiny"), 0))
		require.NoError(t, small.Set(bg, "other", []byte("v"), 0))
		value := []byte(strings.Repeat("v", 5000))
		require.NoError(t, big.Set(bg, "k", value, 0))

		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, int64(1), small.Stats().Entries, "the sweep dropped k, kept other")
		requireKept(t, big, "k", value)
		requireKept(t, small, "other", []byte("v"))
	})
}

// setMtime sets the modification time of key's file in s's directory.
func setMtime(t *testing.T, s *filesystem.Store, key string, mtime time.Time) {
	t.Helper()
	require.NoError(t, os.Chtimes(entryPath(s, key), mtime, mtime))
}

// Regression: a live entry over the smaller Store's MaxBytes, without TTL,
// that no Store has written for more than a day (by the smaller Store's
// clock and by the file's modification time) is still the larger Store's:
// a miss for the smaller Store, left in place, and Add does not take its
// key. Reads do not change a file's modification time, so a 24-hour
// "abandoned" rule let the smaller Store reclaim a lock the larger one held
// for a week, and its Add succeed a second time inside the live TTL.
func TestOldEntryOverMaxBytesIsLeftToTheLargerStore(t *testing.T) {
	clk := testutil.NewClock()
	dir := t.TempDir()
	big := open(t, filesystem.Options{Dir: dir, MaxBytes: 100_000, Clock: clk.Now, SweepInterval: -1})
	small := open(t, filesystem.Options{Dir: dir, MaxBytes: 1000, Clock: clk.Now, SweepInterval: -1})
	value := []byte(strings.Repeat("v", 5000))
	require.NoError(t, big.Set(bg, "k", value, 0))
	setMtime(t, big, "k", clk.Now().Add(-time.Hour))
	clk.Advance(48 * time.Hour)

	_, err := small.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = os.Stat(entryPath(small, "k"))
	assert.NoError(t, err, "the entry is left in place")
	ok, err := small.Add(bg, "k", []byte("w"), 0)
	require.NoError(t, err)
	assert.False(t, ok, "Add found the live entry")
	_, err = small.Incr(bg, "k", 1)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.Zero(t, small.Stats().Entries)
	requireKept(t, big, "k", value)
}

// A temporary file is another process's write under way until it is old by
// the file system's own time: a Store whose Options.Clock runs ahead (a
// test's clock, a skewed one) must not take a fresh one for a leftover and
// remove it mid-write, in Clear or in its sweep.
func TestFreshTempFileSurvivesAClockAhead(t *testing.T) {
	clk := testutil.NewClock()
	clk.Advance(time.Since(clk.Now()) + 48*time.Hour) // two days ahead of the file system
	s := open(t, filesystem.Options{Dir: t.TempDir(), Clock: clk.Now, SweepInterval: -1})
	p := entryPath(s, "k")
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	tmp := p + ".tmp12345"
	require.NoError(t, os.WriteFile(tmp, []byte("half a write"), 0o600))
	require.NoError(t, s.Clear(bg))
	_, err := os.Stat(tmp)
	require.NoError(t, err, "Clear removed a temporary file written just now")

	old := time.Now().Add(-2 * time.Minute)
	require.NoError(t, os.Chtimes(tmp, old, old))
	require.NoError(t, s.Clear(bg))
	_, err = os.Stat(tmp)
	require.ErrorIs(t, err, fs.ErrNotExist, "Clear left a temporary file two minutes old")
}
