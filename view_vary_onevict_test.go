package caching

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVariedViewTellsOnEvictOfEveryEviction: a view's response that varies
// is stored in two writes under one lock, its Vary record's and its
// variant's, each of which may evict; the second write's evictions
// replaced the first's (store.saveDeferred), and OnEvict was never told
// of the keys the record's write evicted. Every eviction is told now.
func TestVariedViewTellsOnEvictOfEveryEviction(t *testing.T) {
	s, told := onEvictLogStore(t, 8)
	c, err := New(&Options{Backend: s})
	require.NoError(t, err)
	h := c.Cached(Forever)(&counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
	}})
	for i := range 20 {
		// Fill the store, so that each write of the page evicts.
		for j := range 8 {
			require.NoError(t, s.Set(context.Background(), fmt.Sprint("filler-", i, "-", j), []byte("v"), 0))
		}
		get(h, fmt.Sprint("/page-", i), "Accept-Language", "fr")
	}
	assert.Equal(t, s.Stats().Evictions, int64(len(told())), "the evictions OnEvict was told of")
}
