package caching

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCreatedKeysTracksSaves: a key tracked by a run is marked by a save
// under it, and untrack returns only the unmarked ones; once every run
// untracked its keys, nothing is tracked and a save reads no map.
func TestCreatedKeysTracksSaves(t *testing.T) {
	var ck createdKeys
	ck.saved([]string{"p/a"}) // nothing tracked: ignored
	ck.track([]string{"p/a", "p/b"})
	ck.track([]string{"p/b"}) // a second run (the key made again)
	ck.saved([]string{"t/tag", "p/b"})
	assert.Equal(t, []string{"p/a"}, ck.untrack([]string{"p/a", "p/b"}))
	assert.EqualValues(t, 1, ck.n.Load(), "the second run still tracks p/b")
	assert.Empty(t, ck.untrack([]string{"p/b"}), "p/b was saved under")
	assert.EqualValues(t, 0, ck.n.Load())
	assert.Empty(t, ck.m)
	assert.Equal(t, []string{"p/c"}, ck.untrack([]string{"p/c"}), "an untracked key is deleted as before")
	assert.EqualValues(t, 0, ck.n.Load())
}
