package filesystem

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepForgetsFilesDeletedBehindItsBack: another process deleted files
// this Store had indexed (a Delete of its own, an rm, a whole subdirectory
// removed). The sweep walked only the files on disk, so the index kept the
// deleted keys and their bytes for good ("Stats().Bytes = 448, entry files
// hold 112 bytes"): MaxBytes and MaxEntries were enforced on files that no
// longer existed. The sweep now drops them.
func TestSweepForgetsFilesDeletedBehindItsBack(t *testing.T) {
	dir := t.TempDir()
	a := openInternal(t, Options{Dir: dir})
	b := openInternal(t, Options{Dir: dir}) // another process
	ctx := context.Background()
	keys := []string{"k1", "k2", "k3", "k4"}
	for _, k := range keys {
		require.NoError(t, a.Set(ctx, k, []byte(strings.Repeat("v", 100)), 0))
	}
	require.NoError(t, b.Delete(ctx, "k2"))
	require.NoError(t, os.Remove(a.entry("k3").path))
	require.NoError(t, os.RemoveAll(a.entry("k4").sub))

	a.sweep(ctx)

	files, bytes := entryFilesIn(t, a.Dir())
	require.Equal(t, 1, files)
	st := a.Stats()
	assert.Equal(t, bytes, st.Bytes, "the index's bytes are the files'")
	assert.EqualValues(t, files, st.Entries, "the index's entries are the files'")
	v, err := a.Get(ctx, "k1")
	require.NoError(t, err)
	assert.Equal(t, strings.Repeat("v", 100), string(v))
}

// TestDeletedFilesDoNotEvictLiveEntries: what a user sees of the same
// bug. Another process deleted this Store's most recent entry; its bytes,
// still counted, made the next Set evict a live entry to make room for
// bytes that were not there.
func TestDeletedFilesDoNotEvictLiveEntries(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	val := []byte(strings.Repeat("v", 100))
	probe := openInternal(t, Options{Dir: t.TempDir()})
	require.NoError(t, probe.Set(ctx, "k0", val, 0))
	size := probe.Stats().Bytes // every entry below is that size

	a := openInternal(t, Options{Dir: dir, MaxBytes: 3 * size})
	b := openInternal(t, Options{Dir: dir}) // another process
	for _, k := range []string{"k1", "k2", "k3"} {
		require.NoError(t, a.Set(ctx, k, val, 0))
	}
	require.NoError(t, b.Delete(ctx, "k3"))
	a.sweep(ctx)
	require.NoError(t, a.Set(ctx, "k4", val, 0))

	for _, k := range []string{"k1", "k2", "k4"} {
		_, err := a.Get(ctx, k)
		assert.NoError(t, err, "%s was evicted, with 3 entries of MaxBytes 3 entries on disk", k)
	}
	files, _ := entryFilesIn(t, a.Dir())
	assert.Equal(t, 3, files)
}

// The sweep drops a deleted key only once it has looked at its path
// itself: a key written after the walk listed its subdirectory stays.
func TestSweepKeepsAFileWrittenAfterItsWalk(t *testing.T) {
	dir := t.TempDir()
	a := openInternal(t, Options{Dir: dir})
	ctx := context.Background()
	require.NoError(t, a.Set(ctx, "k1", []byte("v"), 0))
	// The subdirectory listed without the file, as if the Set came after.
	seen := map[[32]byte]struct{}{}
	e := a.entry("k1")
	a.prune(e.hash[0], seen)
	require.FileExists(t, e.path)
	known, _ := a.idx.sizeOf(e.hash)
	assert.True(t, known, "a key whose file is there was dropped")
}
