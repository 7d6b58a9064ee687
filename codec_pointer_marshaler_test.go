package caching

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// celsius encodes itself through pointer methods, a common way to write
// MarshalJSON and UnmarshalJSON.
type celsius struct{ Degrees float64 }

func (t *celsius) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]float64{"c": t.Degrees})
}

func (t *celsius) UnmarshalJSON(b []byte) error {
	var m map[string]float64
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	t.Degrees = m["c"]
	return nil
}

// grade encodes itself as text through pointer methods.
type grade struct{ n int }

func (g *grade) MarshalText() ([]byte, error) { return []byte(strings.Repeat("A", g.n)), nil }

func (g *grade) UnmarshalText(b []byte) error { g.n = len(b); return nil }

// level is an integer that encodes itself as text through pointer methods.
type level int

func (l *level) MarshalText() ([]byte, error) { return []byte(strings.Repeat("+", int(*l))), nil }

func (l *level) UnmarshalText(b []byte) error { *l = level(len(b)); return nil }

// reading holds pointer-method encoders in fields, an array and a slice.
type reading struct {
	Now   celsius
	Last  [2]celsius
	All   []celsius
	Grade grade
	Ptr   *celsius
}

// TestCodecPointerMarshalerRoundTrips: a value whose type encodes itself
// through pointer methods is read back as it was written on every store,
// by GetOrSet and by a memoized function: JSON encodes it through those
// methods, which decoding calls too (encoding/json skips them for a value
// held in an interface, which is not addressable).
func TestCodecPointerMarshalerRoundTrips(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		c, _ := k.open(t, nil, nil, Options{})
		ctx := context.Background()
		load := func(context.Context) (celsius, error) { return celsius{21.5}, nil }
		v, err := GetOrSet(ctx, c, "temp", time.Minute, load)
		require.NoError(t, err)
		assert.Equal(t, 21.5, v.Degrees)
		v, err = GetOrSet(ctx, c, "temp", time.Minute, load)
		require.NoError(t, err)
		assert.Equal(t, 21.5, v.Degrees, "the stored value read back")

		m := Memoize(c, "temp", func(_ context.Context, city string) (celsius, error) { return celsius{21.5}, nil })
		_, err = m.Get(ctx, "paris")
		require.NoError(t, err)
		got, err := m.Get(ctx, "paris")
		require.NoError(t, err)
		assert.Equal(t, 21.5, got.Degrees, "the memoized result read back")

		want := reading{Now: celsius{1}, Last: [2]celsius{{2}, {3}}, All: []celsius{{4}}, Grade: grade{3}, Ptr: &celsius{5}}
		require.NoError(t, SetAs(ctx, c, "reading", want, time.Minute))
		r, err := GetAs[reading](ctx, c, "reading")
		require.NoError(t, err)
		assert.Equal(t, want, r, "nested values read back")
		var b []byte
		b, err = c.Get(ctx, "reading")
		require.NoError(t, err)
		assert.Contains(t, string(b), `"Grade":"AAA"`, "written by MarshalText")
	})
}

// TestCodecPointerMarshalerRoundTripsRedis: the same on a real Redis
// (skipped when none answers).
func TestCodecPointerMarshalerRoundTripsRedis(t *testing.T) {
	c, _, _ := onRedis(t)
	ctx := context.Background()
	load := func(context.Context) (celsius, error) { return celsius{21.5}, nil }
	_, err := GetOrSet(ctx, c, "temp", time.Minute, load)
	require.NoError(t, err)
	v, err := GetOrSet(ctx, c, "temp", time.Minute, load)
	require.NoError(t, err)
	assert.Equal(t, 21.5, v.Degrees, "the stored value read back from Redis")
}

// TestCodecRefusesPointerMarshalerInMap: encoding/json cannot call a
// pointer method on a map's value or key (they are not addressable) and
// writes the fields instead, which decoding, through the pointer method,
// does not read back: JSON refuses such a value, as its doc promises for a
// value it cannot give back as it was.
func TestCodecRefusesPointerMarshalerInMap(t *testing.T) {
	for name, v := range map[string]any{
		"value":          map[string]celsius{"paris": {21.5}},
		"field of value": map[string]reading{"paris": {}},
		"key":            map[level]int{2: 1},
		"nested":         []map[string]celsius{{"paris": {21.5}}},
		"behind pointer": struct{ M *map[string]celsius }{},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := JSON.Marshal(v)
			require.Error(t, err)
			assert.Contains(t, err.Error(), "pointer")
		})
	}
	for name, v := range map[string]any{
		"map of pointers": map[string]*celsius{"paris": {21.5}},
		"slice in map":    map[string][]celsius{"paris": {{21.5}}},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := JSON.Marshal(v)
			require.NoError(t, err)
			assert.Contains(t, string(b), `{"c":21.5}`)
		})
	}
}

// TestCodecPointerMarshalerSetAsRemote: SetAs of a map whose values encode
// themselves through pointer methods is refused on a store that encodes,
// rather than stored in a form that reads back wrong.
func TestCodecPointerMarshalerSetAsRemote(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind) {
		if k.name == "local" {
			t.Skip("the in-process store keeps the value itself")
		}
		c, _ := k.open(t, nil, nil, Options{})
		err := SetAs(context.Background(), c, "m", map[string]celsius{"paris": {21.5}}, time.Minute)
		require.Error(t, err)
	})
}
