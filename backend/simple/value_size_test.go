package simple_test

import (
	"context"
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/simple"
)

// hugeSizes are sizes a caller may pass to StoreValue, AddValue or
// ResizeValue that len(key)+size+ValueOverhead would overflow int64 with.
var hugeSizes = []int{math.MaxInt, math.MaxInt - simple.ValueOverhead, math.MaxInt / 2}

// openOneShard returns a new store of one shard of maxBytes, closed when
// the test ends without waiting for the lock, which a failing test may
// have left held.
func openOneShard(t *testing.T, maxBytes int64) *simple.Store {
	t.Helper()
	s, err := simple.New(simple.Options{MaxBytes: maxBytes, Shards: 1, SweepInterval: -1})
	require.NoError(t, err)
	t.Cleanup(func() {
		go func() {
			defer func() { _ = recover() }() // a failing test may leave a bad entry
			_ = s.Close()
		}()
	})
	return s
}

// checkStoreStillWorks fails the test unless the store, one shard of
// maxBytes, is within its byte bound and takes a Set, an overwrite and a
// Delete of key, which lives on the same shard as every other key.
func checkStoreStillWorks(t *testing.T, s *simple.Store, key string, maxBytes int64) {
	t.Helper()
	ctx := context.Background()
	st := s.Stats()
	assert.GreaterOrEqual(t, st.Bytes, int64(0), "byte count")
	assert.LessOrEqual(t, st.Bytes, maxBytes, "byte count")
	within(t, "Set over the key", func() { assert.NoError(t, s.Set(ctx, key, []byte("v"), 0)) })
	within(t, "Set of another key", func() { assert.NoError(t, s.Set(ctx, "other", []byte("w"), 0)) })
	within(t, "Get", func() {
		got, err := s.Get(ctx, key)
		assert.NoError(t, err)
		assert.Equal(t, "v", string(got))
	})
	within(t, "Delete", func() { assert.NoError(t, s.Delete(ctx, key, "other")) })
	st = s.Stats()
	assert.Zero(t, st.Entries)
	assert.Zero(t, st.Bytes)
}

// TestStoreValueRefusesAHugeSize passes StoreValue and AddValue sizes whose
// entry size would overflow int64: each gets backend.ErrValueTooLarge, as
// an entry over MaxValueSize does, nothing is stored, and the store (its
// one shard) keeps working within its bound.
func TestStoreValueRefusesAHugeSize(t *testing.T) {
	const maxBytes = 1 << 20
	writes := []struct {
		name  string
		write func(t *testing.T, s *simple.Store, v any, size int) error
	}{
		{"StoreValue", func(t *testing.T, s *simple.Store, v any, size int) error { return s.StoreValue("k", v, size, 0) }},
		{"AddValue", func(t *testing.T, s *simple.Store, v any, size int) error {
			added, err := s.AddValue("k", v, size, 0)
			assert.False(t, added, "added")
			return err
		}},
	}
	for _, w := range writes {
		for _, size := range hugeSizes {
			t.Run(fmt.Sprint(w.name, "/", size), func(t *testing.T) {
				s := openOneShard(t, maxBytes)
				err := w.write(t, s, new(int), size)
				require.ErrorIs(t, err, backend.ErrValueTooLarge, "size %d", size)
				_, ok := s.LoadValue("k")
				assert.False(t, ok, "stored")
				assert.Zero(t, s.Stats().Entries)
				checkStoreStillWorks(t, s, "k", maxBytes)
			})
		}
	}
}

// TestStoreValueOfAHugeSizeRemovesTheOldEntry: like Set of a value too
// large, StoreValue of a huge size leaves no stale value under its key.
func TestStoreValueOfAHugeSizeRemovesTheOldEntry(t *testing.T) {
	s := openOneShard(t, 1<<20)
	require.NoError(t, s.StoreValue("k", new(int), 8, 0))
	require.ErrorIs(t, s.StoreValue("k", new(int), math.MaxInt, 0), backend.ErrValueTooLarge)
	_, ok := s.LoadValue("k")
	assert.False(t, ok, "the old value is still loadable")
	assert.Zero(t, s.Stats().Bytes)
}

// TestResizeValueRefusesAHugeSize resizes a stored value to sizes whose
// entry size would overflow int64: as for any size over MaxValueSize, the
// call reports false and the entry is removed, and the store keeps working
// within its bound.
func TestResizeValueRefusesAHugeSize(t *testing.T) {
	const maxBytes = 1 << 20
	for _, size := range hugeSizes {
		s := openOneShard(t, maxBytes)
		v := new(int)
		require.NoError(t, s.StoreValue("k", v, 8, 0))
		assert.False(t, s.ResizeValue("k", v, size), "resized to %d", size)
		_, ok := s.LoadValue("k")
		assert.False(t, ok, "the entry grown past MaxValueSize is still loadable")
		st := s.Stats()
		assert.Zero(t, st.Entries)
		assert.Zero(t, st.Bytes)
		checkStoreStillWorks(t, s, "k", maxBytes)
	}
}
