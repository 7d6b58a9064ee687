package caching

import (
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFragmentHitCopiesNothing: on an in-process store a fragment hit
// returns the stored HTML without copying it (a 64 KiB fragment allocated
// 64 KiB on every hit); on a remote store it is the read's own copy.
func TestFragmentHitCopiesNothing(t *testing.T) {
	ctx := context.Background()
	html := strings.Repeat("<li>x</li>", 6554)
	render := func(w io.Writer) error { _, err := io.WriteString(w, html); return err }
	c := Must(nil)
	defer c.Close()
	got, err := c.Fragment(ctx, "f", time.Hour, render)
	require.NoError(t, err)
	require.Equal(t, html, string(got))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if h, err := c.Fragment(ctx, "f", time.Hour, render); err != nil || len(h) != len(html) {
			t.Fatal("not a hit", err)
		}
	}
	runtime.ReadMemStats(&after)
	// The key's few bytes, nothing of the 64 KiB fragment.
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(100*1024), "bytes allocated by 100 hits")

	// Set under the same key: the hit is Set's copy, which the caller's
	// later writes to its slice do not reach.
	b := []byte("<p>set</p>")
	require.NoError(t, c.Set(ctx, "f", b, time.Hour))
	copy(b, "<p>XXX</p>")
	got, err = c.Fragment(ctx, "f", time.Hour, render)
	require.NoError(t, err)
	assert.Equal(t, "<p>set</p>", string(got))
}
