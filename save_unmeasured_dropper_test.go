package caching

import (
	"container/list"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// unmeasuredPanicDropper panics when the in-process store drops it.
type unmeasuredPanicDropper struct{ told int }

func (d *unmeasuredPanicDropper) Dropped() {
	d.told++
	panic("dropper panic")
}

// TestUnmeasuredSaveOverAPanickingDropper: a value too big to measure
// deletes the older entry under its key (errUnmeasured); where that entry
// is a Dropper that panics (a value stored there through Backend), the
// panic was raised inside saveDeferred, under the caller's locks (a
// GetOrSet load's, a memoized function's write lock), and skipped what
// the caller does with the write's error and evictions. Now the delete's
// panic travels in the caller's Evictions, and is raised by their Notify
// once the locks are released: the saves that deferred their evictions
// return errUnmeasured, the call still panics with the Dropper's value
// (simple.Dropper), and the key is usable afterwards.
func TestUnmeasuredSaveOverAPanickingDropper(t *testing.T) {
	ctx := context.Background()
	huge := longList(1_000_000)

	newCache := func(t *testing.T) *Cache {
		c := Must(nil)
		t.Cleanup(func() { _ = c.Close() })
		require.NotNil(t, c.store.direct, "the default store is backend/simple's")
		return c
	}
	plant := func(t *testing.T, c *Cache, key string) *unmeasuredPanicDropper {
		d := new(unmeasuredPanicDropper)
		require.NoError(t, c.store.direct.StoreValue(key, d, 8, 0))
		return d
	}

	t.Run("saveDeferred", func(t *testing.T) {
		c := newCache(t)
		d := plant(t, c, "k")
		e := newEntry(c.now(), time.Minute, 0)
		c.store.keepValue(e, huge)
		require.Equal(t, unmeasured, e.size)
		var evicted simple.Evictions
		var err error
		require.NotPanics(t, func() {
			err = c.store.saveDeferred(ctx, "k", e, versionSet{}, &evicted)
		}, "a Dropper's panic raised under the caller's lock")
		assert.ErrorIs(t, err, errUnmeasured)
		assert.Equal(t, 1, d.told)
		assert.PanicsWithValue(t, "dropper panic", evicted.Notify, "Notify raises the Dropper's panic")
		_, ok := c.store.direct.LoadValue("k")
		assert.False(t, ok, "the older entry is still stored")
	})

	// raised returns the value f panicked with, unwrapped from the
	// *PanicError a flight's callers get.
	raised := func(f func()) (v any) {
		defer func() {
			v = recover()
			if p, ok := v.(*PanicError); ok {
				v = p.Value
			}
		}()
		f()
		return nil
	}

	t.Run("GetOrSet", func(t *testing.T) {
		c := newCache(t)
		d := plant(t, c, c.userKey("k"))
		assert.Equal(t, "dropper panic", raised(func() {
			_, _ = GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (*list.List, error) { return huge, nil })
		}))
		assert.Equal(t, 1, d.told)
		got, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) (*list.List, error) { return list.New(), nil })
		require.NoError(t, err, "the key is usable again")
		assert.Zero(t, got.Len())
	})

	t.Run("Memoize", func(t *testing.T) {
		c := newCache(t)
		m := Memoize(c, "huge", func(_ context.Context, n int) (*list.List, error) {
			if n == 0 {
				return huge, nil
			}
			return list.New(), nil
		})
		key, err := m.Key(0)
		require.NoError(t, err)
		d := plant(t, c, key)
		assert.Equal(t, "dropper panic", raised(func() { _, _ = m.Get(ctx, 0) }))
		assert.Equal(t, 1, d.told)
		got, err := m.Get(ctx, 0)
		require.NoError(t, err, "the key is usable again")
		assert.Same(t, huge, got)
	})
}

// TestSetManyPastAPanickingDropper: a SetMany on backend/simple, whose
// values replaced entries holding a Dropper that panicked (values stored
// there through Backend), stopped at the first: the values after it, in
// the map's order, were never written, though Dropper promises that the
// call completes before it panics. Now every value is written (counters
// too), and then SetMany panics with the first Dropper's value.
func TestSetManyPastAPanickingDropper(t *testing.T) {
	ctx := context.Background()
	c := Must(nil)
	t.Cleanup(func() { _ = c.Close() })
	require.NotNil(t, c.store.direct, "the default store is backend/simple's")
	values := make(map[string][]byte)
	var droppers []*unmeasuredPanicDropper
	for i := range 20 {
		k := fmt.Sprint("k", i)
		values[k] = []byte(fmt.Sprint("v", i))
		if i%4 == 3 {
			values[k] = []byte(fmt.Sprint(i)) // a counter, kept as bytes
		}
		if i%2 == 0 {
			d := new(unmeasuredPanicDropper)
			require.NoError(t, c.store.direct.StoreValue(c.userKey(k), d, 8, 0))
			droppers = append(droppers, d)
		}
	}
	assert.PanicsWithValue(t, "dropper panic", func() { _ = c.SetMany(ctx, values, time.Minute) })
	for k, v := range values {
		got, err := c.Get(ctx, k)
		if assert.NoError(t, err, "%s not written", k) {
			assert.Equal(t, string(v), string(got), k)
		}
	}
	for i, d := range droppers {
		assert.Equal(t, 1, d.told, "Dropper %d", i)
	}
}
