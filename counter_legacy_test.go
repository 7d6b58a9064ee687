package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/filesystem"
)

// TestValueStoredBareByAnEarlierReleaseIsRead: before d7c5c1c, Set stored every
// value strconv.ParseInt reads ("007", "+5", "-0": a zip code, a phone
// number) bare, as a counter. A backend that outlives an upgrade (Redis,
// the filesystem store) still holds them so. The stricter rule read them
// neither as integers nor as entries: Get answered ErrNotFound, and on a
// remote store deleted them as corrupt. Get returns them as written.
func TestValueStoredBareByAnEarlierReleaseIsRead(t *testing.T) {
	ctx := context.Background()
	for name, open := range map[string]func(t *testing.T) backend.Backend{
		"filesystem": func(t *testing.T) backend.Backend {
			b, err := filesystem.New(filesystem.Options{Dir: t.TempDir()})
			require.NoError(t, err)
			return b
		},
		"remote": func(t *testing.T) backend.Backend { return &remote{Backend: newSimple(t, nil)} },
	} {
		t.Run(name, func(t *testing.T) {
			b := open(t)
			c, err := New(&Options{Backend: b})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			for _, v := range []string{"007", "+5", "-0"} {
				// What the previous version's Set(ctx, "zip"+v, v) wrote.
				require.NoError(t, b.Set(ctx, c.userKey("zip"+v), []byte(v), time.Minute))
				got, err := c.Get(ctx, "zip"+v)
				if assert.NoError(t, err, "a value the previous version stored, %q", v) {
					assert.Equal(t, v, string(got))
				}
			}
		})
	}
}
