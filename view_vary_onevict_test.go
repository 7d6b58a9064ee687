package caching

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// TestVariedViewTellsOnEvictOfEveryEviction: a view's response that varies
// is stored in two writes under one lock, its Vary record's and its
// variant's, each of which may evict; the second write's evictions
// replaced the first's (store.saveDeferred), and OnEvict was never told
// of the keys the record's write evicted. Every eviction is told now.
func TestVariedViewTellsOnEvictOfEveryEviction(t *testing.T) {
	var (
		mu   sync.Mutex
		told []string
	)
	s, err := simple.New(simple.Options{MaxEntries: 8, Shards: 1, SweepInterval: -1, OnEvict: func(key string) {
		mu.Lock()
		told = append(told, key)
		mu.Unlock()
	}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
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
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, s.Stats().Evictions, int64(len(told)), "the evictions OnEvict was told of")
}
