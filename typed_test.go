package caching

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// TestNearDecodedKeepsItsType: on a near cache, the first reader of
// an entry keeps its decoded value for the later ones. A later reader of
// another type that the kept value happens to satisfy (any, an interface)
// got the first reader's value, decoded as the first reader's type (a
// struct that dropped the fields it does not have), instead of the stored
// value decoded as its own type, as it gets without a near cache.
func TestNearDecodedKeepsItsType(t *testing.T) {
	ctx := context.Background()
	n, err := near.New(&remote{Backend: simple.Must(simple.Options{})}, near.Options{MaxStale: time.Minute})
	require.NoError(t, err)
	c, err := New(&Options{Backend: n})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	type full struct{ A, B int }
	type partial struct{ A int }
	require.NoError(t, SetAs(ctx, c, "k", full{1, 2}, time.Minute))

	p, err := GetAs[partial](ctx, c, "k") // read remote, kept near
	require.NoError(t, err)
	assert.Equal(t, partial{1}, p)
	p, err = GetAs[partial](ctx, c, "k") // a near hit
	require.NoError(t, err)
	assert.Equal(t, partial{1}, p)

	v, err := GetAs[any](ctx, c, "k")
	require.NoError(t, err)
	m, ok := v.(map[string]any)
	require.True(t, ok, "GetAs[any] decodes the stored JSON object as a map, got %T %v", v, v)
	assert.Len(t, m, 2, "both stored fields")
}

// A nil result of an interface type (any, error, an interface of the
// caller's) is stored like any other and read back as nil, on every store.
// On the in-process store, which keeps the value itself, such an entry
// used to be unreadable: a memoized function returning nil ran again on
// every Get, each counted in Stats.Errors and logged ("memoize decode"),
// Peek found nothing, and a GetOrSet[error] whose load returned nil failed
// on every later call ("decode <nil>: unexpected end of JSON input") until
// the entry expired.
func TestNilInterfaceValueReadsBackAsNil(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		ctx := context.Background()
		c, _ := k.open(t, nil, nil, Options{})
		t.Cleanup(func() { _ = c.Close() })

		t.Run("Memoize", func(t *testing.T) {
			var calls atomic.Int64
			m := Memoize(c, "lookup", func(context.Context, int) (any, error) {
				calls.Add(1)
				return nil, nil // no such record: cached as any other result
			})
			for range 3 {
				v, err := m.Get(ctx, 7)
				require.NoError(t, err)
				assert.Nil(t, v)
			}
			assert.Equal(t, int64(1), calls.Load(), "the nil result is served from the cache")
			v, fresh, err := m.Peek(ctx, 7)
			require.NoError(t, err)
			assert.Nil(t, v)
			assert.True(t, fresh)
		})
		t.Run("GetOrSet", func(t *testing.T) {
			var loads atomic.Int64
			for range 3 {
				v, err := GetOrSet(ctx, c, "validation", time.Minute, func(context.Context) (error, error) {
					loads.Add(1)
					return nil, nil // valid: no error to keep
				})
				require.NoError(t, err)
				assert.Nil(t, v)
			}
			assert.Equal(t, int64(1), loads.Load(), "the nil value is served from the cache")
			v, err := GetAs[any](ctx, c, "validation")
			require.NoError(t, err)
			assert.Nil(t, v)
		})
		t.Run("read as another type", func(t *testing.T) {
			// As the codec decodes nil (JSON's null) into it: its zero value.
			require.NoError(t, SetAs[any](ctx, c, "nothing", nil, time.Minute))
			p, err := GetAs[*product](ctx, c, "nothing")
			require.NoError(t, err)
			assert.Nil(t, p)
			s, err := GetAs[string](ctx, c, "nothing")
			require.NoError(t, err)
			assert.Empty(t, s)
		})
		assert.Zero(t, c.Stats().Errors, "no decode errors")
	})
}
