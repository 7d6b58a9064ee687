package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCompare runs the start of the -compare workload both ways: no request
// fails, caching saves SQL queries, and compression saves bytes.
func TestCompare(t *testing.T) {
	// A catalog too small for the workload's pages would fail requests.
	require.ErrorContains(t, runCompare(context.Background(), io.Discard, workloadMinSeed-1), "-seed")
	items := workload()[:400]
	dir := t.TempDir()
	off, err := compareOnce(context.Background(), filepath.Join(dir, "off.db"), "null://", workloadMinSeed, items, false)
	require.NoError(t, err)
	on, err := compareOnce(context.Background(), filepath.Join(dir, "on.db"), "simple://", workloadMinSeed, items, false)
	require.NoError(t, err)

	warm, err := compareOnce(context.Background(), filepath.Join(dir, "warm.db"), "simple://", workloadMinSeed, items, true)
	require.NoError(t, err)

	for _, r := range []compareResult{off, on, warm} {
		assert.Zero(t, r.errors)
		assert.Len(t, r.latencies, len(items))
		assert.Less(t, r.wire, r.decoded, "responses were not compressed")
	}
	// A short, cold run: the cache saves less than in the full workload.
	assert.Less(t, on.queries, off.queries*3/4, "caching saved under a quarter of the SQL queries")
	// With null:// the only hits are requests that joined an identical one
	// in flight (Stats counts them as hits, as X-Cache does): a few, by
	// chance of timing.
	assert.Less(t, off.hitRatio, on.hitRatio)
	assert.Positive(t, on.hitRatio)
	// After a warm-up, the first request of each of the first pages of the
	// list is a hit (no update comes before them in the workload).
	assert.GreaterOrEqual(t, warm.firstHits, warmPages, "the first requests of the warmed pages were not hits")
	assert.Greater(t, warm.firstHits, on.firstHits)

	var out bytes.Buffer
	writeTable(&out, []compareResult{off, on, warm})
	assert.Contains(t, out.String(), "SQL queries")
	assert.Contains(t, out.String(), "fewer bytes on the wire")
	assert.Contains(t, out.String(), fmt.Sprintf("warmed: the first request of %d of the %d", warm.firstHits, warm.firsts))
}
