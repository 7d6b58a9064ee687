package caching_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// TestBinaryStringIsNeverChangedByAHit: a memoized function that returns
// binary data in a string (a digest) gets its own result on every call: a
// store that encodes with JSON, which would replace each byte that is not
// UTF-8 with U+FFFD, stores nothing rather than a changed value.
func TestBinaryStringIsNeverChangedByAHit(t *testing.T) {
	inEachStore(t, func(t *testing.T, c *caching.Cache) {
		ctx := t.Context()
		var calls atomic.Int64
		digest := caching.Memoize(c, "digest", func(_ context.Context, s string) (string, error) {
			calls.Add(1)
			sum := sha256.Sum256([]byte(s))
			return string(sum[:]), nil
		}, caching.TTL(time.Hour))
		want := sha256.Sum256([]byte("hello"))
		for range 2 {
			got, err := digest.Get(ctx, "hello")
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprintf("%x", want[:]), fmt.Sprintf("%x", got))
		}
		assert.NotZero(t, calls.Load())
	})
}

// TestSetAsRefusesABinaryString: SetAs of a string that is not UTF-8 on a
// store that encodes is an error, and what was stored before is not
// replaced by a changed copy; valid text with U+FFFD and a backslash
// followed by "ufffd" still round-trip.
func TestSetAsRefusesABinaryString(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	blob := string([]byte{0x1f, 0x8b, 0x08, 0x00, 0xff, 0xfe})
	err := caching.SetAs(ctx, c, "blob", struct{ Data string }{blob}, time.Minute)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "UTF-8")
	_, err = caching.GetAs[struct{ Data string }](ctx, c, "blob")
	assert.ErrorIs(t, err, caching.ErrNotFound)
	require.Error(t, caching.SetAs(ctx, c, "keys", map[string]int{"\xff": 1, "\xfe": 2}, time.Minute))

	type twice struct {
		S string `json:",string"`
	}
	require.Error(t, caching.SetAs(ctx, c, "twice", twice{"\xff\xfe digest"}, time.Minute),
		"a string encoded twice is checked too")
	raw := json.RawMessage(`{"s":"\ufffd"}`) // an escaped U+FFFD: valid, round-trips
	require.NoError(t, caching.SetAs(ctx, c, "raw", raw, time.Minute))
	gotRaw, err := caching.GetAs[json.RawMessage](ctx, c, "raw")
	require.NoError(t, err)
	assert.JSONEq(t, string(raw), string(gotRaw))

	for _, s := range []string{"\ufffd", `\ufffd`, `\\ufffd`, "a\\\ufffd"} {
		require.NoError(t, caching.SetAs(ctx, c, "text", s, time.Minute), "%q", s)
		got, err := caching.GetAs[string](ctx, c, "text")
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
}

// TestNestedInterfaceNumbersKeepTheirDigits: numbers inside an interface
// anywhere in a value (a struct field's map[string]any, a map of maps)
// decode as json.Number, so an integer above 2^53 comes back exactly.
func TestNestedInterfaceNumbersKeepTheirDigits(t *testing.T) {
	inEachStore(t, func(t *testing.T, c *caching.Cache) {
		ctx := t.Context()
		type Doc struct{ Meta map[string]any }
		const id = int64(1)<<53 + 1
		m := caching.Memoize(c, "doc", func(_ context.Context, n int) (Doc, error) {
			return Doc{Meta: map[string]any{"id": id}}, nil
		})
		for range 2 {
			got, err := m.Get(ctx, 1)
			require.NoError(t, err)
			assert.Equal(t, fmt.Sprint(id), fmt.Sprint(got.Meta["id"]), "id (%T)", got.Meta["id"])
		}
		require.NoError(t, caching.SetAs(ctx, c, "nested", []map[string]map[string]any{{"a": {"id": id}}}, time.Minute))
		got, err := caching.GetAs[[]map[string]map[string]any](ctx, c, "nested")
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprint(id), fmt.Sprint(got[0]["a"]["id"]), "GetAs (%T)", got[0]["a"]["id"])
	})
}

// TestJSONCodecTrailingDataRefused: a value followed by anything but white
// space is corrupt, on both of the codec's decoding paths.
func TestJSONCodecTrailingDataRefused(t *testing.T) {
	var n int
	require.Error(t, caching.JSON.Unmarshal([]byte(`1 2`), &n))
	var a struct{ X any }
	require.Error(t, caching.JSON.Unmarshal([]byte(`{"X":1}]`), &a))
	require.NoError(t, caching.JSON.Unmarshal([]byte("{\"X\":12345678901234567890} \n"), &a))
	assert.Equal(t, json.Number("12345678901234567890"), a.X)
}
