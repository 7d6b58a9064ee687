package caching

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ambPart writes and reads itself through its methods; its field is
// unexported, so encoding/json writes nothing of it by its fields.
type ambPart struct{ n int }

func (p ambPart) MarshalJSON() ([]byte, error)  { return json.Marshal(p.n) }
func (p *ambPart) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &p.n) }

// ambOther is a second type with the methods.
type ambOther struct{ m int }

func (o ambOther) MarshalJSON() ([]byte, error)  { return json.Marshal(o.m) }
func (o *ambOther) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &o.m) }

// ambTimes embeds time.Time and a type with both MarshalJSON and
// MarshalText: neither method is promoted, and the time is lost.
type ambTimes struct {
	time.Time
	ambText
}

// ambText has MarshalJSON and MarshalText, and their Unmarshal methods.
type ambText struct{ s string }

func (a ambText) MarshalJSON() ([]byte, error)  { return json.Marshal(a.s) }
func (a *ambText) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &a.s) }
func (a ambText) MarshalText() ([]byte, error)  { return []byte(a.s), nil }
func (a *ambText) UnmarshalText(b []byte) error { a.s = string(b); return nil }

// TestJSONRefusesAmbiguousEmbeddedMarshalers: a struct that embeds two
// types that both write themselves (MarshalJSON) at one depth gets
// neither method (Go's rule for ambiguous selectors), and encoding/json
// writes the embedded types' exported fields instead: a memoized result
// of it was stored as {} and every hit returned the zero value, not what
// fn returned (the time of an embedded time.Time lost too). JSON now
// refuses it, as it refuses the other types it cannot read back, so the
// result is not stored and each Get returns fn's own.
func TestJSONRefusesAmbiguousEmbeddedMarshalers(t *testing.T) {
	for _, tc := range []struct {
		name string
		v    any
	}{
		{"two MarshalJSON", struct {
			ambPart
			ambOther
		}{ambPart{1}, ambOther{2}}},
		{"time.Time and another", ambTimes{time.Unix(1, 0).UTC(), ambText{"x"}}},
		{"in a field", struct{ V ambTimes }{ambTimes{time.Unix(1, 0).UTC(), ambText{"x"}}}},
		{"in a slice", []ambTimes{{time.Unix(1, 0).UTC(), ambText{"x"}}}},
		{"by pointer", struct {
			*ambPart
			*ambOther
		}{&ambPart{1}, &ambOther{2}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := JSON.Marshal(tc.v)
			var unsupported *json.UnsupportedTypeError
			require.True(t, errors.As(err, &unsupported), "refused: %v", err)
			assert.Contains(t, err.Error(), "name the embedded fields")
		})
	}
	// Tagged, the embedded fields are named and written by their methods.
	type named struct {
		A ambPart  `json:"a"`
		B ambOther `json:"b"`
	}
	b, err := JSON.Marshal(named{ambPart{1}, ambOther{2}})
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1,"b":2}`, string(b))
	// One embedded, its method promoted, with no other field: written by it.
	b, err = JSON.Marshal(struct{ ambPart }{ambPart{3}})
	require.NoError(t, err)
	assert.Equal(t, "3", string(b))
}

// TestMemoizeAmbiguousEmbeddedResultIsNotServedZero: on a store that
// encodes (a remote one), the memoized result whose type embeds two
// marshalers was stored as {}, and the second Get returned the zero
// value. It is now not stored: each Get returns fn's result.
func TestMemoizeAmbiguousEmbeddedResultIsNotServedZero(t *testing.T) {
	c, err := New(&Options{Backend: &remote{Backend: newSimple(t, nil)}, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	want := ambTimes{time.Unix(7, 0).UTC(), ambText{"seven"}}
	m := Memoize(c, "ambiguous", func(context.Context, int) (ambTimes, error) { return want, nil })
	for i := range 2 {
		v, err := m.Get(context.Background(), 7)
		require.NoError(t, err)
		assert.True(t, want.Time.Equal(v.Time), "Get %d: time %v", i+1, v.Time)
		assert.Equal(t, "seven", v.s, "Get %d", i+1)
	}
}
