package filesystem_test

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// TestMissDoesNotForgetASetThatRacedIt: a Get found no entry of its Store's
// at a key (here a live entry over its MaxBytes that a larger Store wrote),
// then dropped the key from the index without its lock. A Set of the key by
// another goroutine between the read and the drop was forgotten: its file
// stayed on disk, out of the index, so that the Store no longer counted or
// evicted it ("2 entry files on disk, MaxEntries 1"). The Get is held in
// between by its Clock, which it asks whether the entry it read has expired.
func TestMissDoesNotForgetASetThatRacedIt(t *testing.T) {
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
	small := open(t, filesystem.Options{Dir: dir, MaxEntries: 1, MaxBytes: 1000, Clock: clock, SweepInterval: -1})
	big := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.NoError(t, big.Set(bg, "k", []byte(strings.Repeat("v", 5000)), time.Hour))

	hold.Store(true)
	got := make(chan error, 1)
	go func() { _, err := small.Get(bg, "k"); got <- err }()
	<-reading // the Get has read the large entry's header and key
	require.NoError(t, small.Set(bg, "k", []byte("v"), 0))
	close(resume)
	require.ErrorIs(t, <-got, backend.ErrNotFound, "the large entry is a miss")

	assert.EqualValues(t, 1, small.Stats().Entries, "the Set's file is in the index")
	require.NoError(t, small.Set(bg, "k2", []byte("v"), 0))
	assert.Equal(t, 1, countEntryFiles(t, small.Dir()), "entry files on disk, MaxEntries 1: k was evicted")
	v, err := small.Get(bg, "k2")
	require.NoError(t, err)
	assert.Equal(t, "v", string(v))
}
