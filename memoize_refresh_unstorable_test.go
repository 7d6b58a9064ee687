package caching

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeRefreshUnstorableTagsNoRoundTrip: an argument with more
// ArgTags tags than an entry holds is never stored, and its lookups read
// nothing: it has no entry for Refresh to replace. A job that refreshes
// such arguments (ids its users asked for) must make no DELETE round trip
// for each, nor, with the backend down, return an error and put the key
// into the invalidation retry set (whose overflow clears the namespace);
// nor a Refresh whose fn fails after superseding another.
func TestMemoizeRefreshUnstorableTagsNoRoundTrip(t *testing.T) {
	for _, down := range []bool{false, true} {
		t.Run(fmt.Sprint("down=", down), func(t *testing.T) {
			r := &remote{Backend: newSimple(t, nil)}
			c, err := New(&Options{Backend: r, Logger: slog.New(slog.DiscardHandler)})
			require.NoError(t, err)
			defer c.Close()
			in, release := make(chan struct{}), make(chan struct{})
			m := Memoize(c, "refresh-unstorable", func(_ context.Context, n int) (string, error) {
				switch n {
				case -1: // a slow Refresh, superseded by a failing one
					close(in)
					<-release
				case -2:
					return "", errors.New("db: timeout")
				}
				return fmt.Sprint("v", n), nil
			}, TTL(time.Hour), KeyFunc(func(n int) string { return fmt.Sprint(max(n, -1)) }),
				ArgTags(func(int) []string {
					tags := make([]string, maxEntryTags+1)
					for i := range tags {
						tags[i] = fmt.Sprint("id:", i)
					}
					return tags
				}))
			ctx := context.Background()
			r.fail.Store(down)
			before := r.trips.Load()
			for n := range 10 {
				v, err := m.Refresh(ctx, n)
				require.NoError(t, err)
				require.Equal(t, fmt.Sprint("v", n), v)
			}
			slow := make(chan error, 1)
			go func() { _, err := m.Refresh(ctx, -1); slow <- err }()
			<-in
			_, err = m.Refresh(ctx, -2) // the same key (KeyFunc), superseding the slow one
			require.Error(t, err)
			close(release)
			require.NoError(t, <-slow)
			assert.Zero(t, r.trips.Load()-before, "backend round trips for Refreshes of unstorable arguments")
		})
	}
}
