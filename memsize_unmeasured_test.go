package caching

import (
	"container/list"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// longList is a container/list.List of n elements: a chain of n nodes,
// too long for internal/memsize to measure.
func longList(n int) *list.List {
	l := list.New()
	for i := range n {
		l.PushBack(i)
	}
	return l
}

// TestTooBigToMeasureIsNotKept: a linked list of a million elements
// returned by a GetOrSet loader on the default in-process store made the
// walk that sizes it overflow the goroutine's stack, a fatal error that
// killed the process. Now such a value is too big to measure and is not
// kept in process memory, as a value over the store's size bound: the
// caller still gets it (GetOrSet with an error wrapping
// backend.ErrValueTooLarge, Memoize with none), nothing is stored, and a
// SetAs of it removes the older value. A large ordinary value is kept.
func TestTooBigToMeasureIsNotKept(t *testing.T) {
	ctx := context.Background()
	huge := longList(1_000_000)

	t.Run("GetOrSet", func(t *testing.T) {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		got, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (*list.List, error) { return huge, nil })
		require.ErrorIs(t, err, backend.ErrValueTooLarge)
		assert.Same(t, huge, got, "the loaded value is returned")
		has, err := c.Has(ctx, "k")
		require.NoError(t, err)
		assert.False(t, has, "not stored")
		assert.Zero(t, c.Stats().Entries)
	})

	t.Run("Memoize", func(t *testing.T) {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		calls := 0
		m := MemoizeValue(c, "huge", func(context.Context) (*list.List, error) {
			calls++
			return huge, nil
		})
		for range 2 {
			got, err := m.Get(ctx)
			require.NoError(t, err)
			assert.Same(t, huge, got)
		}
		assert.Equal(t, 2, calls, "not stored: every call computes")
		assert.Zero(t, c.Stats().Entries)
	})

	t.Run("SetAs removes the older value", func(t *testing.T) {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		require.NoError(t, SetAs(ctx, c, "k", list.New(), time.Minute))
		require.ErrorIs(t, SetAs(ctx, c, "k", huge, time.Minute), backend.ErrValueTooLarge)
		_, err := GetAs[*list.List](ctx, c, "k")
		require.ErrorIs(t, err, ErrNotFound, "a failed write leaves no stale value readable")
	})

	t.Run("a large ordinary value is kept", func(t *testing.T) {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		type item struct {
			ID   int
			Name string
		}
		items := make([]item, 100_000)
		for i := range items {
			items[i] = item{i, fmt.Sprint("item", i)}
		}
		_, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) ([]item, error) { return items, nil })
		require.NoError(t, err)
		has, err := c.Has(ctx, "k")
		require.NoError(t, err)
		assert.True(t, has)
		assert.Greater(t, c.Stats().Bytes, int64(len(items)*24))
	})

	t.Run("a grid of pointers is kept", func(t *testing.T) {
		// h6: a collection of collections holding more references in all
		// than a walk visits was too big to measure, and refused.
		c := Must(&Options{Backend: simple.Must(simple.Options{MaxBytes: 1 << 30, Shards: 1})})
		t.Cleanup(func() { _ = c.Close() })
		grid := pointerGrid(600)
		require.NoError(t, SetAs(ctx, c, "grid", grid, time.Minute))
		got, err := GetAs[[][]*int](ctx, c, "grid")
		require.NoError(t, err)
		assert.Equal(t, grid, got)
		held := 600*(24+600*8) + 600*600*8 // the slices' headers and arrays, the ints
		assert.InDelta(t, float64(held), float64(c.Stats().Bytes), float64(held)/2)
	})
}

// pointerGrid is an n×n grid of pointers: more references in all than a
// walk visits, measured by sampling.
func pointerGrid(n int) [][]*int {
	grid := make([][]*int, n)
	for i := range grid {
		grid[i] = make([]*int, n)
		for j := range grid[i] {
			grid[i][j] = new(int)
		}
	}
	return grid
}

// link is a node of a singly linked list.
type link struct{ Next *link }

// linkCodec encodes a *link list as its length and decodes it into a new
// list of that length; other values as JSON. JSON cannot carry a list
// long enough to be too big to measure (it decodes at most 10,000 levels).
type linkCodec struct{}

func (linkCodec) Marshal(v any) ([]byte, error) {
	l, ok := v.(*link)
	if !ok {
		return JSON.Marshal(v)
	}
	n := 0
	for ; l != nil; l = l.Next {
		n++
	}
	return []byte(strconv.Itoa(n)), nil
}

func (linkCodec) Unmarshal(data []byte, v any) error {
	p, ok := v.(**link)
	if !ok {
		return JSON.Unmarshal(data, v)
	}
	n, err := strconv.Atoi(string(data))
	for *p = nil; n > 0; n-- {
		*p = &link{Next: *p}
	}
	return err
}

// TestNearDoesNotKeepTooBigToMeasure: the first reader of a near entry
// keeps its decoded value there and counts it against the near cache's
// byte bound. A value that decodes into more than a walk can measure (a
// linked list of 300,000 nodes) is not kept: the key is dropped from the
// near cache, and the reader still gets the value. Collections are
// sampled, so that a grid of 600×600 pointers is measured and kept (h6:
// it was too big to measure, and every read of it went remote).
func TestNearDoesNotKeepTooBigToMeasure(t *testing.T) {
	ctx := context.Background()
	remoteStore := simple.Must(simple.Options{MaxBytes: 1 << 30, Shards: 1})
	n, err := near.New(&remote{Backend: remoteStore}, near.Options{MaxBytes: 1 << 30, MaxStale: time.Minute})
	require.NoError(t, err)
	c, err := New(&Options{Backend: n, Codec: linkCodec{}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	var chain *link
	for range 300_000 {
		chain = &link{Next: chain}
	}
	require.NoError(t, SetAs(ctx, c, "chain", chain, time.Minute))
	for range 2 {
		got, err := GetAs[*link](ctx, c, "chain")
		require.NoError(t, err)
		assert.NotNil(t, got)
		assert.Zero(t, n.NearStats().Entries, "the decoded chain is not kept near")
	}

	grid := pointerGrid(600)
	require.NoError(t, SetAs(ctx, c, "grid", grid, time.Minute))
	got, err := GetAs[[][]*int](ctx, c, "grid")
	require.NoError(t, err)
	assert.Equal(t, grid, got)
	assert.Equal(t, int64(1), n.NearStats().Entries, "a grid of pointers is kept near")

	// A grid of 600×600 strings is measured: strings are counted as
	// leaves, not visited one by one.
	strs := make([][]string, 600)
	for i := range strs {
		strs[i] = make([]string, 600)
	}
	require.NoError(t, SetAs(ctx, c, "strings", strs, time.Minute))
	_, err = GetAs[[][]string](ctx, c, "strings")
	require.NoError(t, err)
	assert.Equal(t, int64(2), n.NearStats().Entries, "a grid of strings is kept near")

	require.NoError(t, SetAs(ctx, c, "small", [][]string{{"a"}}, time.Minute))
	_, err = GetAs[[][]string](ctx, c, "small")
	require.NoError(t, err)
	assert.Equal(t, int64(3), n.NearStats().Entries, "an ordinary value is kept near")
}
