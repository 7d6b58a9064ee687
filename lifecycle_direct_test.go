package caching

import (
	"math"
	"testing"

	"github.com/go-caching/caching/backend"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDecrMinInt64: Decr by math.MinInt64 never subtracts the
// other way: from 0 the result (2^63) is past the int64 range, an error
// wrapping backend.ErrNotInteger, and the counter is left as it was.
func TestDecrMinInt64(t *testing.T) {
	ctx := t.Context()
	for _, remoteStore := range []bool{false, true} {
		var c *Cache
		if remoteStore {
			c = Must(&Options{Backend: &remote{Backend: newSimple(t, nil)}})
		} else {
			c = Must(nil)
		}
		t.Cleanup(func() { c.Close() })
		_, err := c.Incr(ctx, "n", 0)
		require.NoError(t, err)
		n, err := c.Decr(ctx, "n", math.MinInt64)
		assert.ErrorIs(t, err, backend.ErrNotInteger, "got %d", n)
		v, err := c.Get(ctx, "n")
		require.NoError(t, err)
		assert.Equal(t, "0", string(v), "the counter is left as it was")
	}
}

// TestJSONRejectsTrailingBytes: the JSON codec refuses data after
// the value for every target type, interfaces included: a stored payload
// that is not one JSON value is an error, not a value.
func TestJSONRejectsTrailingBytes(t *testing.T) {
	for _, data := range []string{`{"a":1}}`, `1]`, `[1]]`, `"s"}`, `1 2`} {
		var a any
		assert.Error(t, JSON.Unmarshal([]byte(data), &a), "any %s", data)
		var m map[string]any
		if data[0] == '{' {
			assert.Error(t, JSON.Unmarshal([]byte(data), &m), "map %s", data)
		}
		var s []any
		if data[0] == '[' {
			assert.Error(t, JSON.Unmarshal([]byte(data), &s), "slice %s", data)
		}
	}
	var a any
	require.NoError(t, JSON.Unmarshal([]byte(" {\"a\":1} \n"), &a), "white space around the value is fine")
}
