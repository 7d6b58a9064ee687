//go:build unix

package filesystem

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// requireDeleted fails unless every one of keys is a miss.
func requireDeleted(t *testing.T, s *Store, keys []string, err error) {
	t.Helper()
	for _, k := range keys {
		_, gerr := s.Get(context.Background(), k)
		require.ErrorIs(t, gerr, backend.ErrNotFound,
			"a key in a subdirectory nobody holds was not deleted (Delete: %v): its old value is still served", err)
	}
}

// Regression: one key whose subdirectory another process holds locked (a
// stopped process, a hung NFS client: the case Clear goes past) made a
// Delete of several keys wait for the caller's whole deadline and then
// delete none of the keys after it, in subdirectories nobody holds: an
// invalidation of those keys (the caching package's tag and path versions)
// was lost, and their entries served, as long as the lock was held (found
// by review-stores). Delete now goes past it, as Clear does, and fails
// once ctx is done, naming the subdirectory left.
func TestDeleteGoesPastALockedSubdirectory(t *testing.T) {
	for _, count := range []bool{false, true} {
		s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
		locked, free := clearLockedSetUp(t, s)
		holdSubLock(t, s, "00")

		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		n, err := s.deleteKeys(ctx, append([]string{locked}, free...), count)
		cancel()
		t.Logf("count %v: Delete: %d, %v", count, n, err)
		requireDeleted(t, s, free, err)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		require.ErrorContains(t, err, "subdirectory 00 of ")
		require.ErrorContains(t, err, "(1 keys not deleted)")
		if count {
			require.Equal(t, len(free), n, "DeleteCount counts the keys it deleted")
		}
		_, err = os.Lstat(s.entry(locked).path)
		require.NoError(t, err, "the entry in the locked subdirectory is left")
	}
}

// With a context that never ends, Delete does not wait for ever on a
// subdirectory another process holds locked: past clearPatience it returns
// an error naming it, the other keys deleted. A lock released meanwhile
// lets its key be deleted too.
func TestDeleteWithoutDeadlineGivesUpOnALockedSubdirectory(t *testing.T) {
	defer func(p time.Duration) { clearPatience = p }(clearPatience)
	clearPatience = 200 * time.Millisecond
	s := openInternal(t, Options{Dir: t.TempDir(), SweepInterval: -1})
	locked, free := clearLockedSetUp(t, s)
	release := holdSubLock(t, s, "00")

	done := make(chan error, 1)
	go func() { done <- s.Delete(context.Background(), append([]string{locked}, free...)...) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Delete still waiting on the locked subdirectory after a minute")
	}
	t.Logf("Delete: %v", err)
	requireDeleted(t, s, free, err)
	require.ErrorContains(t, err, "subdirectory 00 of ")
	require.NotErrorIs(t, err, context.DeadlineExceeded)

	// The lock released while Delete retries the key: it is deleted, and
	// Delete succeeds.
	clearPatience = time.Minute
	require.NoError(t, s.Set(context.Background(), free[0], []byte("v"), 0))
	go func() { done <- s.Delete(context.Background(), locked, free[0]) }()
	time.Sleep(50 * time.Millisecond) // not for order: a release before Delete looks at 00 passes too
	release()
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		t.Fatal("Delete still waiting on the released subdirectory after a minute")
	}
	require.NoError(t, err)
	requireDeleted(t, s, []string{locked, free[0]}, err)
}
