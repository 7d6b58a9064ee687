package filesystem

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openInternal(t *testing.T, o Options) *Store {
	t.Helper()
	o.SweepInterval = -1
	s, err := New(o)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// TestHitAfterDeleteAddsNothing: a Get reads a file, a Delete removes it,
// then the Get records its hit. The hit put the deleted key back into the
// index with no file behind it ("Stats().Entries = 1, entry files on disk =
// 0"), where it counted against the bounds until evicted.
func TestHitAfterDeleteAddsNothing(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir()})
	ctx := context.Background()
	const k = "k"
	require.NoError(t, s.Set(ctx, k, []byte("v"), 0))
	e := s.entry(k)
	r, err := s.readHeld(ctx, e, k) // Get's read
	require.NoError(t, err)
	require.True(t, r.ok)

	require.NoError(t, s.Delete(ctx, k))
	s.hit(ctx, e, r) // Get's update of the index

	assert.Zero(t, s.Stats().Entries, "the deleted key is not in the index")
}

// TestHitAfterSetKeepsNewSize: a Get reads a file, a Set replaces it with a
// larger one, then the Get records its hit: the index keeps the new file's
// size, not the one the Get read.
func TestHitAfterSetKeepsNewSize(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir()})
	ctx := context.Background()
	const k = "k"
	require.NoError(t, s.Set(ctx, k, []byte("v"), 0))
	e := s.entry(k)
	r, err := s.readHeld(ctx, e, k)
	require.NoError(t, err)

	long := []byte("a longer value")
	require.NoError(t, s.Set(ctx, k, long, 0))
	s.hit(ctx, e, r)

	assert.Equal(t, encodedSize(len(k), len(long)), s.Stats().Bytes)
}

// TestGetIndexesOtherStoresFile: a Get of a file another process wrote
// indexes it, at its size, and so does a Get of a file another process
// rewrote at another size (see "Several processes").
func TestGetIndexesOtherStoresFile(t *testing.T) {
	dir := t.TempDir()
	a := openInternal(t, Options{Dir: dir})
	b := openInternal(t, Options{Dir: dir})
	ctx := context.Background()
	const k = "k"
	require.NoError(t, b.Set(ctx, k, []byte("v"), 0))
	_, err := a.Get(ctx, k)
	require.NoError(t, err)
	assert.EqualValues(t, 1, a.Stats().Entries)
	assert.Equal(t, encodedSize(len(k), 1), a.Stats().Bytes)

	require.NoError(t, b.Set(ctx, k, []byte("vvvv"), 0))
	_, err = a.Get(ctx, k)
	require.NoError(t, err)
	assert.EqualValues(t, 1, a.Stats().Entries)
	assert.Equal(t, encodedSize(len(k), 4), a.Stats().Bytes)
}

// TestGetOfUnknownFileUnderBusyLock: when the key's subdirectory is locked
// (another goroutine writes there), a Get of a file the index does not
// know still returns it, without waiting, and leaves the index alone: a
// later read or the sweep learns the file.
func TestGetOfUnknownFileUnderBusyLock(t *testing.T) {
	dir := t.TempDir()
	a := openInternal(t, Options{Dir: dir})
	b := openInternal(t, Options{Dir: dir})
	ctx := context.Background()
	const k = "k"
	require.NoError(t, b.Set(ctx, k, []byte("v"), 0))
	st := &a.stripes[a.entry(k).hash[0]]
	st.sem <- struct{}{}
	v, err := a.Get(ctx, k)
	<-st.sem
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
	assert.Zero(t, a.Stats().Entries)

	_, err = a.Get(ctx, k)
	require.NoError(t, err)
	assert.EqualValues(t, 1, a.Stats().Entries, "learnt at the next read")
}
