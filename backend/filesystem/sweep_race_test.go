package filesystem

import (
	"context"
	"io/fs"
	"os"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepDoesNotLearnAFileDeletedUnderIt: the sweep checked that a file
// it had found (another process wrote it) was still there, then indexed
// it, holding no lock in between. A Delete of the key in that window, by
// another goroutine of the same Store, was undone: the deleted key came
// back into the index with no file behind it ("Stats().Entries = 1"),
// counted against the bounds until it was evicted. The sweep now checks
// and indexes under the key's stripe, which the Delete waits for.
func TestSweepDoesNotLearnAFileDeletedUnderIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		a := openInternal(t, Options{Dir: dir})
		b := openInternal(t, Options{Dir: dir}) // another process
		ctx := context.Background()
		require.NoError(t, b.Set(ctx, "k", []byte("v"), 0))

		deleted := make(chan error, 1)
		learnHook = func() {
			learnHook = nil
			go func() { deleted <- a.Delete(ctx, "k") }()
			synctest.Wait() // the Delete has returned, or waits for the sweep
		}
		t.Cleanup(func() { learnHook = nil })
		a.sweep(ctx)
		require.NoError(t, <-deleted)

		_, err := os.Lstat(a.entry("k").path)
		require.ErrorIs(t, err, fs.ErrNotExist)
		assert.Zero(t, a.Stats().Entries, "the deleted key is not in the index")
	})
}
