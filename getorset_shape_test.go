package caching

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestGetOrSetOlderShapeDecodesAsZeroFields: README and the docs said that
// any value of an older shape is a miss for GetOrSet. Only a value the
// Codec fails to decode is: with the JSON codec, an older release's value
// whose field was renamed decodes without error, the renamed field zero,
// and is a hit. The docs now say so (and advise a versioned key); this
// test holds the behaviour they describe.
func TestGetOrSetOlderShapeDecodesAsZeroFields(t *testing.T) {
	type priceOld struct{ Cents int }
	type priceNew struct{ Amount int } // a new release renamed the field
	ctx := t.Context()
	for _, b := range undecodableBackends[:3] { // simple, filesystem, miniredis
		t.Run(b.name, func(t *testing.T) {
			c, err := New(&Options{Backend: b.open(t)})
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			require.NoError(t, SetAs(ctx, c, "price", priceOld{1250}, time.Minute)) // older release
			p, err := GetOrSet(ctx, c, "price", time.Minute, func(context.Context) (priceNew, error) {
				t.Error("loaded: the JSON codec decodes the older shape without error")
				return priceNew{1250}, nil
			})
			require.NoError(t, err)
			require.Equal(t, priceNew{}, p, "the renamed field decodes as zero")
		})
	}
}

// TestGetOrSetStringAsBytesDecodes: a string that SetAs stored reads as
// []byte wherever the JSON codec decodes it (base64 text decodes into
// bytes): a hit, as the docs now say, not another type's value loaded
// over.
func TestGetOrSetStringAsBytesDecodes(t *testing.T) {
	ctx := t.Context()
	c, err := New(&Options{Backend: undecodableBackends[2].open(t)}) // miniredis
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	require.NoError(t, SetAs(ctx, c, "k", "user", time.Minute))
	b, err := GetOrSet(ctx, c, "k", time.Minute, func(context.Context) ([]byte, error) {
		t.Error("loaded: \"user\" decodes as base64")
		return []byte("loaded"), nil
	})
	require.NoError(t, err)
	require.Equal(t, []byte{0xba, 0xc7, 0xab}, b, `"user" as base64`)
}
