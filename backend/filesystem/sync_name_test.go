package filesystem

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestSecondSetWaitsForTheSubdirectoryName: with Options.Sync an
// acknowledged Set survives a power failure whole, its subdirectory's name
// in the namespace directory included. The subdirectory is made by
// writeTemp, outside the stripe lock, and only the call that made it
// fsynced the namespace directory: a second Set into the same new
// subdirectory found it there, fsynced only the subdirectory, and returned
// while the first call's fsync of the namespace directory had not happened
// yet (or failed). Now a write fsyncs the namespace directory itself until
// one such fsync has succeeded after the subdirectory was there.
func TestSecondSetWaitsForTheSubdirectoryName(t *testing.T) {
	s := openInternal(t, Options{Dir: t.TempDir(), Sync: true})
	ctx := context.Background()
	var rootSynced atomic.Bool
	started := make(chan struct{})
	release := make(chan struct{})
	var first atomic.Bool
	old := fsyncDir
	fsyncDir = func(dir string) error {
		if dir == s.root && first.CompareAndSwap(false, true) {
			close(started)
			<-release // the first writer is between its mkdir and its fsync
		}
		err := old(dir)
		if dir == s.root && err == nil {
			rootSynced.Store(true)
		}
		return err
	}
	t.Cleanup(func() { fsyncDir = old })

	done := make(chan error, 1)
	go func() { done <- s.Set(ctx, "k", []byte("first"), 0) }()
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("the first Set did not fsync the namespace directory")
	}
	err := s.Set(ctx, "k", []byte("second"), 0)
	acked := rootSynced.Load()
	close(release)
	require.NoError(t, <-done)
	require.NoError(t, err)
	require.True(t, acked, "a Set was acknowledged while the name of the subdirectory holding its file had not been fsynced into the namespace directory")
}
