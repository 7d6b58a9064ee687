package caching

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestLongFragmentKeyIsShortened: a fragment's key held the whole encoding
// of the values it varies on, which a template often takes from the request
// ({{cache "results" .Results .Query}}): a 1 MB query made a key of 1.3 MB,
// sent to the backend with every read and kept there with the fragment,
// while the keys of tags, paths, views and memoized calls, which hold what
// clients send too, are shortened. A long key keeps a readable head and the
// SHA-256 of the whole key; a short key is kept byte for byte.
func TestLongFragmentKeyIsShortened(t *testing.T) {
	long := strings.Repeat("q", 1<<20)
	k, err := FragmentKey("results", long)
	require.NoError(t, err)
	assert.LessOrEqual(t, len(k), maxReadableKey, "the key of a fragment varying on 1 MB")
	other, err := FragmentKey("results", long+"r")
	require.NoError(t, err)
	assert.NotEqual(t, k, other, "two long values share a key")
	scoped, err := FragmentKeyIn("admin", "results", long)
	require.NoError(t, err)
	assert.NotEqual(t, k, scoped, "two scopes share a key")
	short, err := FragmentKey("results", "lamps")
	require.NoError(t, err)
	assert.Equal(t, "fragment/results/AgkBDQZzdHJpbmcHBWxhbXBz", short, "a short key is kept as it was")

	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) {
			c, shared := kind.open(t, nil, nil, Options{})
			defer c.Close()
			renders := 0
			render := func(w io.Writer) error {
				renders++
				_, err := io.WriteString(w, "<ul></ul>")
				return err
			}
			for range 2 {
				html, err := c.Fragment(t.Context(), k, time.Minute, render)
				require.NoError(t, err)
				assert.Equal(t, "<ul></ul>", string(html))
			}
			assert.Equal(t, 1, renders, "the second call is a hit")
			if r, ok := shared.(*remote); ok {
				shared = r.Backend
			}
			assert.Less(t, shared.(backend.Statser).Stats().Bytes, int64(64<<10), "the store holds the 1 MB the client sent")
			require.NoError(t, c.Delete(t.Context(), k))
			_, err := c.Fragment(t.Context(), k, time.Minute, render)
			require.NoError(t, err)
			assert.Equal(t, 2, renders, "deleted by its FragmentKey: rendered again")
		})
	}
}
