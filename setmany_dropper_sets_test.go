package caching

import (
	"context"
	"testing"

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
// Set counted none. Every write that landed is counted.
func TestDropperPanicWriteCountedInSets(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name   string
		values map[string][]byte
	}{
		{"SetMany", map[string][]byte{"a": []byte("x"), "b": []byte("y")}},
		{"Set", map[string][]byte{"a": []byte("x")}},
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
