package filesystem

import (
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepDoesNotForgetASetThatRacedIt: the sweep, finding at a key a
// live entry over its Store's MaxBytes (a larger Store wrote it), dropped
// the key from the index without its lock. A Set of the key by another
// goroutine of the Store in between was forgotten: its file stayed on
// disk, out of the index, uncounted and never evicted. The sweep is held
// there by the Store's Clock, which it asks whether the entry has expired.
func TestSweepDoesNotForgetASetThatRacedIt(t *testing.T) {
	dir := t.TempDir()
	var hold atomic.Bool
	reading, resume := make(chan struct{}), make(chan struct{})
	clock := func() time.Time {
		if hold.CompareAndSwap(true, false) {
			close(reading)
			<-resume
		}
		return time.Now()
	}
	small := openInternal(t, Options{Dir: dir, MaxEntries: 1, MaxBytes: 1000, Clock: clock})
	big := openInternal(t, Options{Dir: dir})
	ctx := context.Background()
	require.NoError(t, big.Set(ctx, "k", []byte(strings.Repeat("v", 5000)), time.Hour))

	hold.Store(true)
	swept := make(chan struct{})
	go func() { small.sweep(ctx); close(swept) }()
	<-reading // the sweep has read the large entry's header
	require.NoError(t, small.Set(ctx, "k", []byte("v"), 0))
	close(resume)
	<-swept

	assert.EqualValues(t, 1, small.Stats().Entries, "the Set's file is in the index")
	require.NoError(t, small.Set(ctx, "k2", []byte("v"), 0))
	n, _ := entryFilesIn(t, small.Dir())
	assert.Equal(t, 1, n, "entry files on disk, MaxEntries 1: k was evicted")
}

// entryFilesIn counts the entry files (64 hex digits) under root, and
// sums their sizes.
func entryFilesIn(t *testing.T, root string) (files int, bytes int64) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && isEntryName(d.Name()) {
			fi, err := d.Info()
			require.NoError(t, err)
			files++
			bytes += fi.Size()
		}
		return err
	}))
	return files, bytes
}
