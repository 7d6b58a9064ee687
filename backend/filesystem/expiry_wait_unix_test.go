//go:build unix

package filesystem

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/internal/testutil"
)

// TestTTLCountsFromTheCallNotTheLock pins when Set and Add read the clock
// for an entry's expiry: at the call, before they wait for the key's lock
// (they write the entry's file before taking it, so that the lock is held
// only for the rename). A write that waits for the lock stores an entry
// that expires ttl after the call, not ttl after the lock was taken: its
// value was made before the call, and is never kept longer than ttl from
// then. (Reading the clock under the lock would mean writing the file's
// expiry and checksum again under it, fsyncing it again with
// Options.Sync, on every write.)
func TestTTLCountsFromTheCallNotTheLock(t *testing.T) {
	for _, tc := range waitingWrites(t, time.Minute) {
		t.Run(tc.name, func(t *testing.T) {
			clk := testutil.NewClock()
			s := openInternal(t, Options{Dir: t.TempDir(), Clock: clk.Now})
			keys := keysInSub(0x42, 2, "k")
			require.NoError(t, s.Set(context.Background(), keys[1], []byte("v"), 0)) // makes the subdirectory
			e := s.entry(keys[0])
			call := clk.Now()
			release := holdSubLock(t, s, "42")

			done, _ := startWaitingWrite(t, s, e, tc.write, keys[0])
			clk.Advance(30 * time.Second) // the wait for the lock
			release()
			require.NoError(t, <-done)

			b, err := os.ReadFile(e.path)
			require.NoError(t, err)
			exp, ok := decodeExpiry(b)
			require.True(t, ok)
			assert.Equal(t, call.Add(time.Minute).UnixNano(), exp, "ttl from the call")
		})
	}
}
