package caching

import (
	"context"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listNode is a node of a singly linked list.
type listNode struct {
	Next *listNode
	V    int
}

// TestInProcessBoundCountsSmallHeterogeneousValue: an in-process store
// bounded at 16 MiB kept a two-element []any holding a 40,000-node list
// and a 64 MiB buffer, counted as about 1.3 MB (the buffer extrapolated
// from the list beside it). It is measured whole now, and refused as too
// large.
func TestInProcessBoundCountsSmallHeterogeneousValue(t *testing.T) {
	ctx := context.Background()
	c := Must(&Options{Backend: simple.Must(simple.Options{MaxBytes: 16 << 20, Shards: 1})})
	t.Cleanup(func() { _ = c.Close() })
	var list *listNode
	for range 40_000 {
		list = &listNode{Next: list}
	}
	err := SetAs(ctx, c, "doc", []any{list, make([]byte, 64<<20)}, time.Minute)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	assert.Less(t, c.Stats().Bytes, int64(16<<20), "what the store holds")
}
