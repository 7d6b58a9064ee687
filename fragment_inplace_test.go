package caching

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFragmentMissCopiesOnce: on a remote store, a fragment miss copied
// the rendered HTML into the entry's payload ([]byte(html)), and
// encodeEntry copied that payload again into the envelope. The rendered
// bytes are now copied once, straight from the render's buffer into the
// envelope. An in-process store still keeps a copy of its own, as it did.
func TestFragmentMissCopiesOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		ctx := context.Background()
		body := bytes.Repeat([]byte("<li>x</li>"), 64<<10/10)
		render := func(w io.Writer) error {
			_, err := w.Write(body)
			return err
		}
		// What the caller would do without the cache: render into a
		// buffer and keep the string.
		bare := allocPer(func() {
			var buf bytes.Buffer
			require.NoError(t, render(&buf))
			if buf.String() == "" {
				t.Fatal("nothing rendered")
			}
		})
		i := 0
		miss := func() {
			i++
			html, err := c.Fragment(ctx, fmt.Sprint("f", i), time.Minute, render)
			require.NoError(t, err)
			require.Len(t, html, len(body))
		}
		miss()
		// The Cache's one copy, the payload it keeps (in process) or the
		// envelope (remote), and less than half a copy more: what a miss
		// costs besides, and the rounding of a large allocation to whole
		// pages. The test's remote store copies what it is given: one copy
		// more.
		want := uint64(len(body)) + uint64(len(body))/2
		if k.name == "remote" {
			want += uint64(len(body))
		}
		cached := allocPer(miss)
		assert.LessOrEqual(t, cached-bare, want, "bytes a 64 KiB fragment miss allocates past its render (%d)", bare)

		html, err := c.Fragment(ctx, "f1", time.Minute, func(io.Writer) error { return fmt.Errorf("rendered again") })
		require.NoError(t, err)
		assert.Equal(t, string(body), string(html), "the stored fragment")
	})
}
