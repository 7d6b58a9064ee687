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
