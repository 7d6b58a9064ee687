//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package filesystem

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockAfterSubdirectoryPurged: a Store keeps its lock files open. When
// the cache's subdirectories were deleted under running processes (an rm
// -rf to clear the cache), a Store that locked afterwards created and
// locked a new lock file, while another still locked the old, deleted one:
// the two no longer excluded each other, and Add and Incr between them
// were no longer atomic. A lock is now taken again on the file at the path
// when the one held is not it.
func TestLockAfterSubdirectoryPurged(t *testing.T) {
	dir := t.TempDir()
	open := func() *Store {
		s, err := New(Options{Dir: dir, SweepInterval: -1})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	a, b := open(), open()
	ctx := context.Background()
	_, err := a.Incr(ctx, "k", 1) // a opens the stripe's lock file
	require.NoError(t, err)
	e := a.entry("k")
	require.NoError(t, os.RemoveAll(e.sub))

	_, err = b.Incr(ctx, "k", 1) // b creates the subdirectory and a new lock file
	require.NoError(t, err)
	st, err := a.lock(ctx, e)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if stb, err := b.lock(short, b.entry("k")); err == nil {
		b.unlock(stb)
		a.unlock(st)
		t.Fatal("b took the lock a holds: they lock different files")
	}
	a.unlock(st)

	n, err := b.Incr(ctx, "k", 1)
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "the counter b created, and this increment")
}
