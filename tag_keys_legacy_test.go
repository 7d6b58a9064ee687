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

// TestInvalidateTagOfShortenedShapeKeepsLongTagsEntries: a tag of at most
// maxReadableKey bytes that has a shortened key's shape (a head, '#', 43
// bytes of base64; a client can spell one, "user:"+id) had its own text
// added as a legacy key, which is the current key of the long tag that
// shortens to it: invalidating one ended the other's entries. Legacy keys
// are only those of tags over maxReadableKey bytes, whose text no key
// kept as it is, nor a shortened one, can spell.
func TestInvalidateTagOfShortenedShapeKeepsLongTagsEntries(t *testing.T) {
	ctx := t.Context()
	c := Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
	defer c.Close()
	victim := "user:" + strings.Repeat("v", 300)
	crafted := shortenKey(victim) // short, of the shortened shape
	require.NotEqual(t, victim, crafted)
	require.NoError(t, c.Set(ctx, "profile", []byte("victim's page"), time.Hour, Tags(victim)))

	require.NoError(t, c.InvalidateTags(ctx, crafted))
	got, err := c.Get(ctx, "profile")
	require.NoError(t, err, "invalidating the tag %q ended the entries of another tag", crafted)
	assert.Equal(t, "victim's page", string(got))

	require.NoError(t, c.InvalidateTags(ctx, victim))
	_, err = c.Get(ctx, "profile")
	assert.ErrorIs(t, err, ErrNotFound, "its own tag still ends it")
}
