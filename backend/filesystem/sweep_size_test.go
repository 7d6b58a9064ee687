package filesystem

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// entryBytes sums the sizes of the entry files under root.
func entryBytes(t *testing.T, root string) int64 {
	t.Helper()
	_, n := entryFilesIn(t, root)
	return n
}

// TestSweepLearnsTheNewSizeOfARewrittenFile: another process rewrote, at
// another size, a file this Store had indexed. The sweep took only files
// it did not know: the index kept the old size, its byte total drifted
// from the files' ("Stats().Bytes = 56, entry files hold 415 bytes"), and
// MaxBytes was enforced on the wrong sum, the directory left over it.
func TestSweepLearnsTheNewSizeOfARewrittenFile(t *testing.T) {
	dir := t.TempDir()
	a := openInternal(t, Options{Dir: dir, MaxBytes: 400})
	b := openInternal(t, Options{Dir: dir}) // another process
	ctx := context.Background()
	require.NoError(t, a.Set(ctx, "k1", []byte("v"), 0))
	require.NoError(t, a.Set(ctx, "k2", []byte("v"), 0))
	require.NoError(t, b.Set(ctx, "k1", []byte(strings.Repeat("v", 360)), 0))
	require.Greater(t, entryBytes(t, a.Dir()), int64(400), "the files are over a's MaxBytes")

	a.sweep(ctx)

	on := entryBytes(t, a.Dir())
	assert.Equal(t, on, a.Stats().Bytes, "the index's bytes are the files'")
	assert.LessOrEqual(t, on, int64(400), "the files are within MaxBytes after the sweep")
}
