package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
)

// panicDropper panics when the in-process store drops it.
type panicDropper struct{}

func (panicDropper) Dropped() { panic("dropper panic") }

// TestDropperPanicWriteCountedInSets: a write that replaced a value that
// panics when dropped (a simple.Dropper stored through Backend) lands, and
// the panic comes after it (SetMany's once its other writes are made), but
// the write was not counted in Stats.Sets: SetMany of two keys counted one,
// Set counted none (and none of bare integers). Every write that landed is
// counted.
func TestDropperPanicWriteCountedInSets(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		values map[string][]byte
	}{
		{"SetMany", map[string][]byte{"a": []byte("x"), "b": []byte("y")}},
		{"Set", map[string][]byte{"a": []byte("x")}},
		// Bare integers are kept as bytes, written with the store's Set,
		// which raised the panic before the write was counted.
		{"SetMany integers", map[string][]byte{"a": []byte("42"), "b": []byte("7")}},
		{"Set integer", map[string][]byte{"a": []byte("42")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := simple.New(simple.Options{})
			require.NoError(t, err)
			c := Must(&Options{Backend: s})
			t.Cleanup(func() { _ = c.Close() })
			require.NoError(t, s.StoreValue(c.userKey("a"), panicDropper{}, 8, 0))
			write := func() { _ = c.SetMany(ctx, tc.values, 0) }
			if len(tc.values) == 1 {
				write = func() { _ = c.Set(ctx, "a", tc.values["a"], 0) }
			}
			assert.PanicsWithValue(t, "dropper panic", write)
			for k, v := range tc.values {
				got, err := c.Get(ctx, k)
				require.NoError(t, err, k)
				assert.Equal(t, v, got, k)
			}
			assert.Equal(t, int64(len(tc.values)), c.Stats().Sets, "writes counted")
		})
	}
}

// TestGetOrSetIntegerOnEvictAfterLock: GetOrSet of an integer type writes
// the bare integer, and did so with the store's Set, which told OnEvict
// while the load's lock was held: an OnEvict that writes the loaded key
// (here: deletes it) waited for that lock, held by its own goroutine, for
// ever. OnEvict is told once the lock is released, as for other values.
func TestGetOrSetIntegerOnEvictAfterLock(t *testing.T) {
	ctx := context.Background()
	var c *Cache
	s, err := simple.New(simple.Options{MaxEntries: 1, Shards: 1, SweepInterval: -1, OnEvict: func(key string) {
		_ = c.Delete(ctx, "b")
	}})
	require.NoError(t, err)
	c = Must(&Options{Backend: s})
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, c.Set(ctx, "a", []byte("1"), 0))
	done := make(chan int, 1)
	go func() {
		v, err := GetOrSet(ctx, c, "b", 0, func(context.Context) (int, error) { return 7, nil })
		assert.NoError(t, err)
		done <- v
	}()
	select {
	case v := <-done:
		assert.Equal(t, 7, v)
	case <-time.After(10 * time.Second):
		t.Fatal("GetOrSet of an int hung: OnEvict told under the load's lock")
	}
}
