package memsize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMeasureLargeStringSliceExactly: the exact walk read 1,024 strings of
// a larger collection, spread evenly, and scaled them to all: a []string of
// 1,024 short strings and one of 32 MiB, which the walk can read whole
// within its budget, counted as about 21 KB (Measure ok), and an
// in-process store took it under a bound of 8 MiB. The exact walk now sums
// every string's length.
func TestMeasureLargeStringSliceExactly(t *testing.T) {
	big := strings.Repeat("x", 32<<20)
	v := make([]string, 1025)
	for i := range v {
		v[i] = "small"
	}
	v[1024] = big
	n, ok := Measure(v)
	require.True(t, ok)
	held := len(big) + 1024*len("small") + len(v)*16
	assert.GreaterOrEqual(t, n, held, "the value holds %d bytes", held)
	assert.Less(t, n, held+1024, "each string counted once")
}

// TestMeasureLargeCollectionsExactly: the exact walk visited 1,024 elements
// of a larger slice or map and scaled them to all: a []item of 2,048
// elements was walked at its even positions only (bit-reversed order,
// stopped halfway), so the 16 MiB its odd elements held counted nothing,
// and a map of 2,048 entries, one of them a 32 MiB buffer, counted the
// buffer twice or not at all, as its random iteration order fell (Measure
// ok either way). The exact walk now visits every element.
func TestMeasureLargeCollectionsExactly(t *testing.T) {
	t.Run("slice", func(t *testing.T) {
		type item struct {
			ID   int
			Body []byte
		}
		v := make([]item, 2048)
		for i := range v {
			v[i].Body = make([]byte, 8)
		}
		base, ok := Measure(v)
		require.True(t, ok)
		large := 0
		for i := 1; i < len(v); i += 2 {
			v[i].Body = make([]byte, 16<<10)
			large += 16<<10 - 8
		}
		n, ok := Measure(v)
		require.True(t, ok)
		assert.Equal(t, base+large, n, "the odd elements' bodies grew by %d bytes", large)
	})
	t.Run("map", func(t *testing.T) {
		m := make(map[int][]byte, 2048)
		for i := range 2047 {
			m[i] = make([]byte, 8)
		}
		m[2047] = make([]byte, 32<<20)
		for range 10 { // a map's order is random
			n, ok := Measure(m)
			require.True(t, ok)
			assert.GreaterOrEqual(t, n, 32<<20)
			assert.Less(t, n, 33<<20, "the buffer counted once")
		}
	})
}

// The strings of a map's keys and values are read into one reused value
// each (iterKey, iterValue), not a copy per entry: each is still counted,
// once, whichever entry holds the large one, and a map reached through an
// unexported field (where reflect refuses SetIterKey) is read as before.
func TestMeasureMapOfStringsExactly(t *testing.T) {
	type wrapped struct {
		ID    int
		attrs map[string]string
	}
	big := strings.Repeat("x", 1<<20)
	for _, bigKey := range []bool{false, true} {
		m := make(map[string]string, 2048)
		for i := range 2047 {
			m[strings.Repeat("k", 8)+string(rune('a'+i%26))+strings.Repeat("0", i/26)] = "value"
		}
		if bigKey {
			m[big] = "value"
		} else {
			m["big"] = big
		}
		for name, v := range map[string]any{"map": m, "unexported field": &wrapped{attrs: m}} {
			n, ok := Measure(v)
			require.True(t, ok, name)
			assert.GreaterOrEqual(t, n, len(big)+2047*len("value"), "%s, big key %v", name, bigKey)
			assert.Less(t, n, 2*len(big), "%s, big key %v: counted once", name, bigKey)
		}
	}
}
