package caching

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLongTagEntryFromBeforeUpgradeIsInvalidated: b428253 shortens the
// version key of a tag over 200 bytes. An entry of the direct API written
// before the upgrade (or by a process not yet upgraded, in a rolling
// deploy, on the shared Redis) records its tag key as it was then,
// t/<whole tag>, and a direct read checks the versions of the keys the
// entry records. InvalidateTags(tag) deleted only t/<shortened tag>: the
// old key kept its version, and the entry it was meant to end was still
// served, for its whole TTL (Forever: for good). It deletes both now.
func TestLongTagEntryFromBeforeUpgradeIsInvalidated(t *testing.T) {
	ctx := t.Context()
	c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
	defer c.Close()
	tag := "search:" + strings.Repeat("q", 300)

	// What the code before b428253 wrote for Set(ctx, "k", "old", time.Hour, Tags(tag)).
	legacy := c.prefix + kindTag + tag
	vs, err := c.store.versions(ctx, []string{legacy}, time.Hour)
	require.NoError(t, err)
	w, err := c.prepareWrite("k", time.Hour, vs, func(e *entry) error {
		c.store.setBytes(e, []byte("old"))
		return nil
	}, nil)
	require.NoError(t, err)
	require.NoError(t, c.writeDirect(ctx, w))
	got, err := c.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "old", string(got))

	require.NoError(t, c.InvalidateTags(ctx, tag))
	got, err = c.Get(ctx, "k")
	assert.ErrorIs(t, err, ErrNotFound, "an entry written under the tag before the upgrade is still served after InvalidateTags: %q", got)
}
