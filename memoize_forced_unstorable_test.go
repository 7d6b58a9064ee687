package caching

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeForcedGetUnstorableTagsNoRoundTrip: an argument with more
// ArgTags tags than an entry holds is never stored (unstorable): its
// lookup reads nothing. A forced Get of it (RefreshIf, e.g. a client's
// no-cache request with a made-up id list) must make no DELETE round trip
// to the backend for an entry that cannot exist (the versions read
// "fails" with ErrInvalidOption: backendFailed makes no delete).
func TestMemoizeForcedGetUnstorableTagsNoRoundTrip(t *testing.T) {
	r := &remote{Backend: newSimple(t, nil)}
	c, err := New(&Options{Backend: r, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	m := Memoize(c, "forced-unstorable", func(_ context.Context, n int) (string, error) {
		return fmt.Sprint("v", n), nil
	}, TTL(time.Hour), RefreshIf(func(context.Context, int) bool { return true }),
		ArgTags(func(n int) []string {
			tags := make([]string, maxEntryTags+1)
			for i := range tags {
				tags[i] = fmt.Sprint("id:", i)
			}
			return tags
		}))
	ctx := context.Background()
	before := r.trips.Load()
	for n := range 10 {
		_, err := m.Get(ctx, n)
		require.NoError(t, err)
	}
	assert.Zero(t, r.trips.Load()-before, "backend round trips for 10 forced Gets of unstorable arguments")
}
