//go:build unix

package filesystem_test

import (
	"os"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/filesystem"
)

// TestLooserFileModeIsTightenedOnReadAndSweep: entry files written under a
// FileMode that let group and others read them (0644) stayed readable by
// every local user, responses and all, after the store was restarted with
// FileMode 0600, for as long as they were read and never rewritten. A read
// or the sweep now takes that read permission away; the entries are kept.
func TestLooserFileModeIsTightenedOnReadAndSweep(t *testing.T) {
	dir := t.TempDir()
	loose := open(t, filesystem.Options{Dir: dir, FileMode: 0o644, SweepInterval: -1})
	for _, k := range []string{"read", "swept"} {
		require.NoError(t, loose.Set(bg, k, []byte("private "+k), 0))
	}
	require.NoError(t, loose.Close())
	mode := func(s *filesystem.Store, k string) os.FileMode {
		fi, err := os.Stat(entryPath(s, k))
		require.NoError(t, err)
		return fi.Mode().Perm()
	}

	s := open(t, filesystem.Options{Dir: dir, SweepInterval: -1})
	require.Equal(t, os.FileMode(0o644), mode(s, "read"))
	v, err := s.Get(bg, "read")
	require.NoError(t, err)
	assert.Equal(t, "private read", string(v), "kept")
	assert.Equal(t, os.FileMode(0o600), mode(s, "read"), "read: no longer readable by group and others")
	assert.Equal(t, os.FileMode(0o644), mode(s, "swept"), "not read yet")

	synctest.Test(t, func(t *testing.T) {
		sw, err := filesystem.New(filesystem.Options{Dir: dir, SweepInterval: time.Minute})
		require.NoError(t, err)
		defer sw.Close()
		time.Sleep(time.Minute + time.Second)
		synctest.Wait()
		assert.Equal(t, os.FileMode(0o600), mode(sw, "swept"), "swept: tightened too")
		v, err := sw.Get(bg, "swept")
		require.NoError(t, err)
		assert.Equal(t, "private swept", string(v), "kept")
	})

	group := open(t, filesystem.Options{Dir: t.TempDir(), FileMode: 0o640, SweepInterval: -1})
	require.NoError(t, group.Set(bg, "g", []byte("v"), 0))
	_, err = group.Get(bg, "g")
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o640), mode(group, "g"), "the read FileMode grants is left")
}
