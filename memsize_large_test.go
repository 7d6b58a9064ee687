package caching

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestInProcessBoundCountsLargeCollection: an in-process store bounded at
// 8 MiB kept a []string of 1,024 short strings and one of 32 MiB, counted
// as about 21 KB (1,024 of its 1,025 strings read and scaled to all), so
// that entries of this shape could hold any multiple of the bound. Every
// string is counted now, and the value is refused as too large.
func TestInProcessBoundCountsLargeCollection(t *testing.T) {
	ctx := context.Background()
	s := simple.Must(simple.Options{MaxBytes: 8 << 20, Shards: 1, SweepInterval: -1})
	c := Must(&Options{Backend: s})
	t.Cleanup(func() { _ = c.Close() })
	v := make([]string, 1025)
	for i := range v {
		v[i] = "small"
	}
	v[1024] = strings.Repeat("x", 32<<20)
	err := SetAs(ctx, c, "k", v, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = GetAs[[]string](ctx, c, "k")
	assert.ErrorIs(t, err, ErrNotFound, "the value is not kept")
	assert.Less(t, s.Stats().Bytes, int64(8<<20), "what the store holds")
}
