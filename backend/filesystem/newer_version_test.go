package filesystem

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// asNewer rewrites key's entry file with a newer format version, as a newer
// release sharing the directory would write it, and returns its path.
func asNewer(t *testing.T, s *Store, key string) string {
	t.Helper()
	p := s.entry(key).path
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	b[4] = formatVersion + 1
	require.NoError(t, os.WriteFile(p, b, 0o600))
	return p
}

// Regression: a file of a newer format version (written by a newer release
// sharing the directory, as in a rolling deploy) was taken for a corrupt
// file and removed by a Get of its key and by every sweep: the processes of
// the older release deleted the newer ones' cache while both ran. It is now
// a miss, left on disk by reads and by the sweep.
func TestNewerFormatVersionIsAMissLeftOnDisk(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t, Options{Dir: t.TempDir()})
	for _, size := range []int{1, smallFile + 1} { // read whole, and header first
		t.Run(map[int]string{1: "small", smallFile + 1: "large"}[size], func(t *testing.T) {
			key := t.Name()
			require.NoError(t, s.Set(ctx, key, make([]byte, size), time.Hour))
			p := asNewer(t, s, key)

			_, err := s.Get(ctx, key)
			require.ErrorIs(t, err, backend.ErrNotFound)
			ok, err := s.Has(ctx, key)
			require.NoError(t, err)
			assert.False(t, ok)
			require.FileExists(t, p, "a read left the newer release's file")
			s.sweep(ctx)
			require.FileExists(t, p, "the sweep left the newer release's file")
			assert.Equal(t, int64(1), s.Stats().Entries, "it counts against the bounds")
		})
		require.NoError(t, s.Clear(ctx))
	}
}

// Companion: such files take space, and count against the bounds by their
// size and age like any other: eviction removes them in their turn, so a
// directory shared with a newer release stays within MaxEntries.
func TestNewerFormatVersionIsEvictedInTurn(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newer := openInternal(t, Options{Dir: dir})
	require.NoError(t, newer.Set(ctx, "newer", []byte("v"), time.Hour))
	p := asNewer(t, newer, "newer")
	require.NoError(t, os.Chtimes(p, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)))

	s := openInternal(t, Options{Dir: dir, MaxEntries: 2})
	s.sweep(ctx)
	require.FileExists(t, p)
	require.NoError(t, s.Set(ctx, "a", []byte("v"), time.Hour))
	require.NoError(t, s.Set(ctx, "b", []byte("v"), time.Hour))
	assert.NoFileExists(t, p, "the least recently used file goes, newer or not")
	assert.Equal(t, int64(2), s.Stats().Entries)
}

// Regression: a newer release's file over this store's Options.MaxBytes was
// neither removed as corrupt (it is not), nor as expired (its expiry cannot
// be read here), nor evicted (the sweep drops a file over MaxBytes from the
// index, left for the store that wrote it until it expires): no store of
// this release ever removed it, and after a newer release was rolled back
// such files stayed in the directory for good, outside every bound. The
// sweep now removes it, as it removes an ordinary file over MaxBytes once
// it is not known to be live.
func TestNewerFormatVersionOverMaxBytesIsRemovedBySweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// Written two hours ago with a TTL of a minute: long expired.
	past := func() time.Time { return time.Now().Add(-2 * time.Hour) }
	newer := openInternal(t, Options{Dir: dir, MaxBytes: -1, Clock: past})
	require.NoError(t, newer.Set(ctx, "big", make([]byte, 256<<10), time.Minute))
	p := asNewer(t, newer, "big")
	old := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(p, old, old))

	s := openInternal(t, Options{Dir: dir, MaxBytes: 64 << 10})
	require.FileExists(t, p, "New's walk reads no file")
	s.sweep(ctx)
	assert.NoFileExists(t, p,
		"a 256 KiB file of a newer format version is still on disk in a store bounded to 64 KiB, and no sweep or eviction will remove it")
	assert.Equal(t, int64(0), s.Stats().Entries)

	// One that fits stays, indexed, as in TestNewerFormatVersionIsAMissLeftOnDisk.
	require.NoError(t, newer.Set(ctx, "small", make([]byte, 1<<10), time.Minute))
	p = asNewer(t, newer, "small")
	s.sweep(ctx)
	assert.FileExists(t, p)
	assert.Equal(t, int64(1), s.Stats().Entries)
}

// Regression: a newer release's file within the bounds went only by
// eviction, so after the newer release was rolled back its files stayed for
// good in a store whose working set is under its bounds. The sweep removes
// one whose modification time is over newerMaxAge old, and leaves a younger
// one (a newer release still running rewrites its entries).
func TestNewerFormatVersionOverMaxAgeIsRemovedBySweep(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	newer := openInternal(t, Options{Dir: dir})
	require.NoError(t, newer.Set(ctx, "aged", []byte("v"), 0))
	require.NoError(t, newer.Set(ctx, "young", []byte("v"), 0))
	aged, young := asNewer(t, newer, "aged"), asNewer(t, newer, "young")
	old := time.Now().Add(-newerMaxAge - time.Minute)
	require.NoError(t, os.Chtimes(aged, old, old))
	recent := time.Now().Add(-newerMaxAge + time.Hour)
	require.NoError(t, os.Chtimes(young, recent, recent))

	s := openInternal(t, Options{Dir: dir})
	assert.Equal(t, int64(2), s.Stats().Entries, "New's walk indexes both")
	s.sweep(ctx)
	assert.NoFileExists(t, aged, "a newer release's file over newerMaxAge old is still on disk")
	assert.FileExists(t, young)
	assert.Equal(t, int64(1), s.Stats().Entries, "the removed file left the index")
}
