package filesystem

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestSweepPlacesOtherStoresFilesByModTime: two Stores (two processes, say)
// share a namespace, each bounded at 10 entries. A writes a0..a9 and never
// touches them again; later B writes b0..b4. At A's next sweep A's index
// holds 15 files and must drop 5: the least recently used are a0..a4
// (files found on disk count from their modification time). The sweep put
// B's files at the back of the list, as older than anything A knew, and
// evicted exactly them: "A's sweep evicted 5 of the 5 entries B wrote just
// now". With both processes at their bound, each sweep deleted whatever the
// others wrote since the last one.
func TestSweepPlacesOtherStoresFilesByModTime(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := New(Options{Dir: dir, MaxEntries: 10, SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	for i := range 10 {
		require.NoError(t, a.Set(ctx, fmt.Sprint("a", i), []byte("v"), 0))
	}
	written := time.Now() // after every use A made
	b, err := New(Options{Dir: dir, MaxEntries: 10, SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	for i := range 5 {
		k := fmt.Sprint("b", i)
		require.NoError(t, b.Set(ctx, k, []byte("v"), 0))
		// B writes after A's last use; a file system's clock may stamp
		// it a few milliseconds earlier than that (Linux's is coarse).
		mt := written.Add(time.Duration(i+1) * time.Millisecond)
		require.NoError(t, os.Chtimes(a.entry(k).path, mt, mt))
	}

	a.sweep(ctx)

	lost := 0
	for i := range 5 {
		if _, err := b.Get(ctx, fmt.Sprint("b", i)); errors.Is(err, backend.ErrNotFound) {
			lost++
		}
	}
	assert.Zero(t, lost, "A's sweep evicted %d of the 5 entries B wrote just now", lost)
	for i := range 10 {
		_, err := a.Get(ctx, fmt.Sprint("a", i))
		if i < 5 {
			assert.ErrorIs(t, err, backend.ErrNotFound, "a%d: among A's 5 least recently used", i)
		} else {
			assert.NoError(t, err, "a%d", i)
		}
	}
	assert.EqualValues(t, 10, a.Stats().Entries)
}

// TestSweepPlacesOldFilesLast: a file another process wrote before
// anything this Store used is the first victim, as it was at New.
func TestSweepPlacesOldFilesLast(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	a, err := New(Options{Dir: dir, MaxEntries: 3, SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })
	b, err := New(Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	require.NoError(t, b.Set(ctx, "old", []byte("v"), 0))
	mt := time.Now().Add(-time.Hour)
	require.NoError(t, os.Chtimes(a.entry("old").path, mt, mt))
	for i := range 3 {
		require.NoError(t, a.Set(ctx, fmt.Sprint("a", i), []byte("v"), 0))
	}

	a.sweep(ctx)

	_, err = b.Get(ctx, "old")
	assert.ErrorIs(t, err, backend.ErrNotFound, "the oldest file is evicted")
	for i := range 3 {
		_, err := a.Get(ctx, fmt.Sprint("a", i))
		assert.NoError(t, err, "a%d", i)
	}
}
