//go:build unix

package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriteOutlivesClearOfItsTempFile: Set and Add write their temporary
// file before they take the subdirectory's lock. One that waited for the
// lock more than a minute (another process held it) had its temporary file
// taken by a Clear that got the lock first for a crashed writer's
// leftover, and failed with ENOENT when it renamed the file into place:
// the write was lost, and an error that names no cause returned. Now the
// writer writes its temporary file again, under the lock, and stores the
// value.
//
// The test holds the subdirectory's lock as another process would, and
// clears the subdirectory's files (a Clear's work, with the test's lock for
// its own) while the write waits, once its temporary file is over a
// minute old.
func TestWriteOutlivesClearOfItsTempFile(t *testing.T) {
	for _, tc := range waitingWrites(t, 0) {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s := openInternal(t, Options{Dir: dir})
			clearer := openInternal(t, Options{Dir: dir}) // another process's Store
			key := keysInSub(0x42, 1, "k")[0]
			other := keysInSub(0x42, 2, "o")[1]
			require.NoError(t, s.Set(context.Background(), other, []byte("v"), 0)) // makes the subdirectory
			e := s.entry(key)
			release := holdSubLock(t, s, "42")

			done, temp := startWaitingWrite(t, s, e, tc.write, key)
			old := time.Now().Add(-2 * time.Minute)
			require.NoError(t, os.Chtimes(temp, old, old))
			require.NoError(t, clearer.clearFiles(context.Background(), e.sub))
			_, err := os.Lstat(temp)
			require.ErrorIs(t, err, os.ErrNotExist, "Clear took the temporary file for a leftover")

			release()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second):
				t.Fatal("the write has not returned 30 s after the lock was released")
			}
			got, err := clearer.Get(context.Background(), key)
			require.NoError(t, err)
			assert.Equal(t, "new", string(got))
			left, _ := filepath.Glob(filepath.Join(e.sub, "*"+tempMark+"*"))
			assert.Empty(t, left, "temporary files left")
		})
	}
}

// waitingWrite is a write that writes its temporary file before it takes
// the subdirectory's lock.
type waitingWrite struct {
	name  string
	write func(s *Store, key string) error
}

// waitingWrites are Set and Add of "new" under a key for ttl; Add fails the
// test when it finds the key present.
func waitingWrites(t *testing.T, ttl time.Duration) []waitingWrite {
	return []waitingWrite{
		{"Set", func(s *Store, key string) error {
			return s.Set(context.Background(), key, []byte("new"), ttl)
		}},
		{"Add", func(s *Store, key string) error {
			ok, err := s.Add(context.Background(), key, []byte("new"), ttl)
			if err == nil && !ok {
				t.Errorf("Add found an entry where there was none")
			}
			return err
		}},
	}
}

// startWaitingWrite starts write of key (of entry e) in a goroutine, and
// returns once its temporary file is there and holds the whole entry (the
// write waits for the lock then, and changes the file no more: a caller may
// backdate it), with the channel its error comes on and the file's name.
func startWaitingWrite(t *testing.T, s *Store, e entry, write func(s *Store, key string) error, key string) (<-chan error, string) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- write(s, key) }()
	want := encodedSize(len(key), len("new"))
	var temps []string
	require.Eventually(t, func() bool {
		temps, _ = filepath.Glob(filepath.Join(e.sub, e.hex+tempMark+"*"))
		if len(temps) != 1 {
			return false
		}
		fi, err := os.Stat(temps[0])
		return err == nil && fi.Size() == want
	}, 30*time.Second, 5*time.Millisecond, "the write's whole temporary file")
	return done, temps[0]
}
