package filesystem

import (
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestGroupShareCheckOnlyWithUnixPerms runs the check New makes of a cache
// shared by a group both as on Unix systems and as on Windows.
//
// Regression (cfcb7d5): a cache shared by a group (DirMode with group
// write) whose FileMode grants the group no read was accepted on Unix: the
// other members could open neither the entry files nor the lock files one
// member made, and their Set and Delete failed. Regression: the check then
// ran on Windows too, where access is by ACL and the modes share nothing
// with a group, and refused DirMode 0o770 alone.
func TestGroupShareCheckOnlyWithUnixPerms(t *testing.T) {
	cases := []struct {
		name          string
		perms         bool
		file, dir     fs.FileMode
		wantErrSubstr string // "" for no error
	}{
		{"unix, group dir, files shut the group out", true, 0o600, 0o770, "Options.FileMode 0600"},
		{"unix, group dir, files group write only", true, 0o620, 0o730, "Options.FileMode 0620"},
		{"unix, group dir, files group read", true, 0o640, 0o770, ""},
		{"unix, private dir", true, 0o600, 0o700, ""},
		{"windows, group dir, files shut the group out", false, 0o600, 0o770, ""},
		{"windows, group dir, files group write only", false, 0o620, 0o730, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkGroupShare(tc.perms, tc.file, tc.dir)
			if tc.wantErrSubstr == "" {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.True(t, errors.Is(err, backend.ErrInvalidOption), err.Error())
			assert.Contains(t, err.Error(), tc.wantErrSubstr)
			assert.True(t, strings.HasPrefix(err.Error(), "filesystem: "), err.Error())
		})
	}
}

// TestNewGroupDirDefaultFileMode: New with DirMode 0o770 and the default
// FileMode fails where files have Unix permission bits, and opens elsewhere.
func TestNewGroupDirDefaultFileMode(t *testing.T) {
	s, err := New(Options{Dir: t.TempDir(), DirMode: 0o770, SweepInterval: -1})
	if unixPerms {
		require.ErrorIs(t, err, backend.ErrInvalidOption)
		assert.Contains(t, err.Error(), "Options.FileMode 0600")
		return
	}
	require.NoError(t, err)
	require.NoError(t, s.Close())
}
