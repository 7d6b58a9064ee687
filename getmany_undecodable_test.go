package caching

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGetManySkipsUnencodableValue: the in-process store keeps the values
// of SetAs without encoding them, so it keeps one the Codec cannot encode
// (a NaN), which other stores refuse. GetMany leaves such a value out of
// its answer, as a miss (logged, and counted in Stats.Errors), and still
// returns the other keys' values.
func TestGetManySkipsUnencodableValue(t *testing.T) {
	c := Must(nil)
	defer c.Close()
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "good", []byte("v"), time.Minute))
	require.NoError(t, SetAs(ctx, c, "nan", math.NaN(), time.Minute), "kept as it is in process")
	got, err := c.GetMany(ctx, "good", "nan")
	require.NoError(t, err, "one value that does not encode fails the whole GetMany")
	assert.Equal(t, map[string][]byte{"good": []byte("v")}, got)
	s := c.Stats()
	assert.EqualValues(t, 1, s.Errors, "the value that did not encode is logged")
	assert.EqualValues(t, 1, s.Hits)
	assert.EqualValues(t, 1, s.Misses)
}
