package filesystem

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSyncFsyncsDirectories: with Options.Sync, an acknowledged write
// survives a power failure whole, so its rename must be durable too: the
// file was fsynced before the rename, but not the directory after it, and
// after a crash the directory could still name the old file, or none. A
// power failure cannot be made in a test; the fsyncs are recorded instead:
// Set, Add and Incr fsync the key's subdirectory once the file is in place,
// and the namespace directory after making a subdirectory. Without Sync,
// no directory is fsynced.
func TestSyncFsyncsDirectories(t *testing.T) {
	var mu sync.Mutex
	var synced []string
	var missing []string // entry files not in place when their directory was synced
	check := ""
	old := fsyncDir
	fsyncDir = func(dir string) error {
		mu.Lock()
		defer mu.Unlock()
		synced = append(synced, dir)
		if check != "" && filepath.Dir(check) == dir {
			if _, err := os.Lstat(check); err != nil {
				missing = append(missing, check)
			}
		}
		return old(dir)
	}
	t.Cleanup(func() { fsyncDir = old })
	reset := func(path string) {
		mu.Lock()
		synced, missing, check = nil, nil, path
		mu.Unlock()
	}
	ctx := context.Background()

	s := openInternal(t, Options{Dir: t.TempDir(), Sync: true})
	e := s.entry("k")
	reset(e.path)
	require.NoError(t, s.Set(ctx, "k", []byte("v"), 0))
	assert.Equal(t, []string{s.root, e.sub}, synced, "Set: the new subdirectory's parent, then the subdirectory")
	assert.Empty(t, missing)

	reset(e.path)
	require.NoError(t, s.Set(ctx, "k", []byte("w"), 0))
	assert.Equal(t, []string{e.sub}, synced, "Set in an existing subdirectory")

	e2 := s.entry("a")
	reset(e2.path)
	ok, err := s.Add(ctx, "a", []byte("v"), 0)
	require.NoError(t, err)
	require.True(t, ok)
	assert.Contains(t, synced, e2.sub, "Add")
	assert.Empty(t, missing)

	reset(e2.path)
	ok, err = s.Add(ctx, "a", []byte("v"), 0)
	require.NoError(t, err)
	require.False(t, ok)
	assert.Empty(t, synced, "an Add that wrote nothing")

	e3 := s.entry("n")
	reset(e3.path)
	_, err = s.Incr(ctx, "n", 1)
	require.NoError(t, err)
	require.NotEmpty(t, synced, "Incr")
	assert.Equal(t, e3.sub, synced[len(synced)-1], "Incr")
	if e3.sub != e.sub && e3.sub != e2.sub {
		assert.Equal(t, []string{s.root, e3.sub}, synced, "Incr in a new subdirectory")
	}
	assert.Empty(t, missing)

	u := openInternal(t, Options{Dir: t.TempDir()})
	reset("")
	require.NoError(t, u.Set(ctx, "k", []byte("v"), 0))
	_, err = u.Incr(ctx, "n", 1)
	require.NoError(t, err)
	assert.Empty(t, synced, "without Sync")
}
