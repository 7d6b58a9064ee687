//go:build unix

package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// holdSubLock flocks subdirectory sub's lock file through an open file of
// its own, as another process would (a stopped one, a long Incr, a hung NFS
// client), until the test ends or the returned function is called.
func holdSubLock(t *testing.T, s *Store, sub string) (release func()) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(s.Dir(), sub, lockName), os.O_RDWR, 0)
	require.NoError(t, err)
	require.NoError(t, syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB))
	release = func() { f.Close() }
	t.Cleanup(release)
	return release
}

// clearLockedSetUp stores a key in subdirectory 00, held locked by another
// process, and keys in two others, and returns them.
func clearLockedSetUp(t *testing.T, s *Store) (locked string, others []string) {
	t.Helper()
	bg := context.Background()
	locked = keysInSub(0x00, 1, "locked")[0]
	others = append(keysInSub(0x80, 3, "a"), keysInSub(0xff, 3, "b")...)
	for _, k := range append([]string{locked}, others...) {
		require.NoError(t, s.Set(bg, k, []byte("v"), 0))
	}
	return locked, others
}

// requireCleared fails unless none of keys is left.
func requireCleared(t *testing.T, s *Store, keys []string) {
	t.Helper()
	left := 0
	for _, k := range keys {
		if _, err := s.Get(context.Background(), k); err == nil {
			left++
		}
	}
	require.Zero(t, left, "Clear left %d of %d entries in subdirectories nobody held locked", left, len(keys))
}

// TestClearGoesPastALockedSubdirectory: another process holds the lock of
// subdirectory 00. Clear clears every other subdirectory, and returns, once
// its context ends, an error wrapping the context's that names 00, whose
// entry is left. Clear used to wait on 00 until ctx ended and then return
// at once, the 255 subdirectories after it not cleared at all (found by
// review AW).
func TestClearGoesPastALockedSubdirectory(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
	locked, others := clearLockedSetUp(t, s)
	holdSubLock(t, s, "00")

	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := s.Clear(ctx)
	t.Logf("Clear: %v", err)
	requireCleared(t, s, others)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.ErrorContains(t, err, "subdirectory 00 of ")
	_, err = os.Lstat(s.entry(locked).path)
	require.NoError(t, err, "the entry in the locked subdirectory is left")
}

// TestClearWithoutDeadlineGivesUpOnALockedSubdirectory: with a context
// that never ends, Clear does not wait for ever on a subdirectory another
// process holds locked: past clearPatience it returns an error naming it,
// the others cleared. Once the lock is free, Clear clears it too. Clear
// used to wait as long as the lock was held.
func TestClearWithoutDeadlineGivesUpOnALockedSubdirectory(t *testing.T) {
	defer func(p time.Duration) { clearPatience = p }(clearPatience)
	clearPatience = 200 * time.Millisecond
	s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
	locked, others := clearLockedSetUp(t, s)
	release := holdSubLock(t, s, "00")

	done := make(chan error, 1)
	go func() { done <- s.Clear(context.Background()) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Clear still waiting on the locked subdirectory after a minute")
	}
	t.Logf("Clear: %v", err)
	requireCleared(t, s, others)
	require.ErrorContains(t, err, "subdirectory 00 of ")

	release()
	require.NoError(t, s.Clear(context.Background()))
	requireCleared(t, s, []string{locked})
}
