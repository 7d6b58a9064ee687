package filesystem

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestGetRemovesOnlyTheFileItRead: a Get that found an expired entry
// closed the file, then waited for the lock to remove it "if it is still
// the same file", compared by device and inode. Meanwhile another process
// deleted the key and set it again: the freed inode number went to the new
// file (ext4 and tmpfs reuse it at once), and the Get removed the entry of
// a Set that had returned. The file is kept open until it is removed.
func TestGetRemovesOnlyTheFileItRead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		now := time.Now()
		s1, err := New(Options{Dir: dir, SweepInterval: -1, Clock: func() time.Time { return now }})
		require.NoError(t, err)
		defer s1.Close()
		s2, err := New(Options{Dir: dir, SweepInterval: -1}) // another process
		require.NoError(t, err)
		defer s2.Close()
		ctx := context.Background()
		const k = "user:42"
		require.NoError(t, s1.Set(ctx, k, []byte("old"), time.Second))
		now = now.Add(2 * time.Second) // expired, for s1

		// s1's stripe is busy (another of its goroutines writes), so that
		// its Get reads the expired file and waits to remove it.
		st := &s1.stripes[s1.entry(k).hash[0]]
		st.sem <- struct{}{}
		done := make(chan error, 1)
		go func() { _, err := s1.Get(ctx, k); done <- err }()
		synctest.Wait()

		require.NoError(t, s2.Delete(ctx, k))
		require.NoError(t, s2.Set(ctx, k, []byte("new"), 0))
		<-st.sem
		assert.ErrorIs(t, <-done, backend.ErrNotFound, "the expired entry is a miss")
		v, err := s2.Get(ctx, k)
		require.NoError(t, err, "the entry of a Set that returned")
		assert.Equal(t, "new", string(v))
	})
}
