//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
	"github.com/go-caching/caching/internal/testutil"
)

// keysInOtherSubdirs returns n keys whose entries lie in n different
// subdirectories.
func keysInOtherSubdirs(s *filesystem.Store, n int) []string {
	var keys []string
	seen := map[string]bool{}
	for i := 0; len(keys) < n; i++ {
		k := fmt.Sprint("key", i)
		sub := filepath.Dir(entryPath(s, k))
		if !seen[sub] {
			seen[sub] = true
			keys = append(keys, k)
		}
	}
	return keys
}

// holdSubdirLock flocks the lock file of key's subdirectory through an open
// file of its own, as another process would (flock locks belong to an open
// file description), until the returned function is called.
func holdSubdirLock(t *testing.T, s *filesystem.Store, key string) (release func()) {
	t.Helper()
	name := filepath.Join(filepath.Dir(entryPath(s, key)), ".lock")
	require.NoError(t, os.MkdirAll(filepath.Dir(name), 0o700))
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	released := false
	release = func() {
		if !released {
			released = true
			f.Close()
		}
	}
	t.Cleanup(release)
	return release
}

// within runs fn and fails the test if it has not returned after a minute
// (see testutil.Returns). A call left hanging is ended by the test's
// cleanup (the Store's Close).
func within(t *testing.T, what string, fn func()) {
	t.Helper()
	testutil.Returns(t, what+", waiting for a lock another process holds,", time.Minute, fn)
}

// entryFiles counts the entry files (64 hex digits) under s.Dir().
func entryFiles(t *testing.T, s *filesystem.Store) int {
	t.Helper()
	n := 0
	subs, err := os.ReadDir(s.Dir())
	require.NoError(t, err)
	for _, d := range subs {
		des, err := os.ReadDir(filepath.Join(s.Dir(), d.Name()))
		require.NoError(t, err)
		for _, de := range des {
			if len(de.Name()) == 64 {
				n++
			}
		}
	}
	return n
}

// TestSetDoesNotWaitForAnEvictionVictimsLock: a Set over MaxEntries
// evicted the least recently used entry under the subdirectory's lock,
// waiting for it with the caller's context. When another process holding
// that lock was stopped (SIGSTOP, a debugger), a Set without a deadline
// hung for as long, though its own key was elsewhere. Eviction is best
// effort: a victim locked by another process is left for later.
func TestSetDoesNotWaitForAnEvictionVictimsLock(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxEntries: 1, SweepInterval: -1})
	keys := keysInOtherSubdirs(s, 2)
	require.NoError(t, s.Set(bg, keys[0], []byte("v"), 0))
	holdSubdirLock(t, s, keys[0])

	var err error
	within(t, "Set", func() { err = s.Set(bg, keys[1], []byte("v"), 0) })
	require.NoError(t, err)
	v, err := s.Get(bg, keys[1])
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}

// TestGetDoesNotWaitToRemoveAnExpiredFile: a Get that found an expired
// entry waited, with the caller's context, for its subdirectory's lock to
// remove the file. Another process stopped while holding it hung the Get,
// a miss, forever. The removal is best effort: the file is left for a
// later read or the sweep.
func TestGetDoesNotWaitToRemoveAnExpiredFile(t *testing.T) {
	clk := testutil.NewClock()
	s := open(t, filesystem.Options{Dir: t.TempDir(), Clock: clk.Now, SweepInterval: -1})
	require.NoError(t, s.Set(bg, "k", []byte("v"), time.Minute))
	clk.Advance(time.Minute)
	release := holdSubdirLock(t, s, "k")

	var err error
	within(t, "Get", func() { _, err = s.Get(bg, "k") })
	require.ErrorIs(t, err, backend.ErrNotFound)

	release()
	_, err = s.Get(bg, "k")
	require.ErrorIs(t, err, backend.ErrNotFound)
	_, err = os.Stat(entryPath(s, "k"))
	assert.ErrorIs(t, err, os.ErrNotExist, "removed once the lock was free")
}

// TestSkippedVictimIsEvictedLater: a victim that eviction could not lock
// (its context ended while it waited for another process) left the index
// but stayed on disk: no later eviction removed it, and the directory held
// more than MaxEntries files of this Store's, which Stats did not count.
// Now a victim skipped stays in the index, as the least recently used, and
// the next eviction tries it again: the Store's files exceed its bounds
// only by the victims whose subdirectories another process holds locked.
func TestSkippedVictimIsEvictedLater(t *testing.T) {
	s := open(t, filesystem.Options{Dir: t.TempDir(), MaxEntries: 2, SweepInterval: -1})
	keys := keysInOtherSubdirs(s, 4)
	require.NoError(t, s.Set(bg, keys[0], []byte("v"), 0))
	require.NoError(t, s.Set(bg, keys[1], []byte("v"), 0))
	release := holdSubdirLock(t, s, keys[0])

	// A deadline, so that a Set that waits for the lock ends.
	ctx, cancel := context.WithTimeout(bg, time.Second)
	defer cancel()
	require.NoError(t, s.Set(ctx, keys[2], []byte("v"), 0))
	assert.Equal(t, 3, entryFiles(t, s), "the locked victim is still on disk")
	assert.EqualValues(t, 3, s.Stats().Entries, "and counted")

	release()
	require.NoError(t, s.Set(bg, keys[3], []byte("v"), 0))
	assert.Equal(t, 2, entryFiles(t, s), "back to MaxEntries once the lock is free")
	assert.EqualValues(t, 2, s.Stats().Entries)
	_, err := os.Stat(entryPath(s, keys[0]))
	assert.ErrorIs(t, err, os.ErrNotExist, "the least recently used went first")
	for _, k := range keys[2:] {
		_, err := s.Get(bg, k)
		assert.NoError(t, err, "the two most recent kept")
	}
}

// TestSweepEvictsASkippedVictim: a victim skipped while another process
// held its subdirectory's lock is evicted by the next sweep once the lock
// is free, even when no Set comes to retry it.
func TestSweepEvictsASkippedVictim(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s, err := filesystem.New(filesystem.Options{Dir: t.TempDir(), MaxEntries: 1, SweepInterval: time.Minute})
		require.NoError(t, err)
		defer s.Close()
		keys := keysInOtherSubdirs(s, 2)
		require.NoError(t, s.Set(bg, keys[0], []byte("v"), 0))
		release := holdSubdirLock(t, s, keys[0])
		require.NoError(t, s.Set(bg, keys[1], []byte("v"), 0))
		assert.Equal(t, 2, entryFiles(t, s), "the victim is locked")
		release()

		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, 1, entryFiles(t, s), "the sweep evicted it")
		assert.EqualValues(t, 1, s.Stats().Entries)
		_, err = s.Get(bg, keys[1])
		assert.NoError(t, err)
	})
}
