package caching_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// stampedOrder embeds time.Time: encoding/json writes the whole struct by
// the promoted (time.Time).MarshalJSON and reads it back by the promoted
// UnmarshalJSON, so Note would be lost.
type stampedOrder struct {
	time.Time
	Note string
}

// hostNote embeds netip.Addr, whose MarshalText is promoted the same way.
type hostNote struct {
	netip.Addr
	Note string
}

// stampOnly embeds time.Time and has no other field: the promoted methods
// write and read all of it.
type stampOnly struct{ time.Time }

// requireUnsupported asserts that JSON's Marshal refuses v with an error
// that wraps *json.UnsupportedTypeError or *json.UnsupportedValueError,
// as encoding/json's own refusals do, and that says what (contains).
func requireUnsupported(t *testing.T, v any, contains string) {
	t.Helper()
	_, err := caching.JSON.Marshal(v)
	require.Error(t, err)
	var te *json.UnsupportedTypeError
	var ve *json.UnsupportedValueError
	assert.True(t, errors.As(err, &te) || errors.As(err, &ve), "%v", err)
	assert.Contains(t, err.Error(), contains)
}

// TestCodecRefusesPromotedMarshaler: a struct that gets MarshalJSON or
// MarshalText from a field it embeds, and has fields of its own, would be
// stored without them: GetOrSet returns what its load returned, every time,
// and the codec refuses such a value (GetOrSet returns its error with the
// loaded value); a struct that is only the embedded
// field round-trips.
func TestCodecRefusesPromotedMarshaler(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	want := stampedOrder{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "shipped"}
	var loads int
	for range 2 {
		got, err := caching.GetOrSet(ctx, c, "order:1", time.Minute, func(context.Context) (stampedOrder, error) {
			loads++
			return want, nil
		})
		var te *json.UnsupportedTypeError
		require.ErrorAs(t, err, &te, "the refusal, returned with the loaded value")
		assert.Equal(t, want.Note, got.Note, "a stored value read back without its Note")
	}
	assert.Equal(t, 2, loads, "refused, not stored: loaded each time")

	requireUnsupported(t, want, "embeds")
	requireUnsupported(t, hostNote{netip.MustParseAddr("10.0.0.1"), "gateway"}, "embeds")
	requireUnsupported(t, []map[string]stampedOrder{{"a": want}}, "embeds")

	only := stampOnly{want.Time}
	require.NoError(t, caching.SetAs(ctx, c, "only", only, time.Minute))
	got, err := caching.GetAs[stampOnly](ctx, c, "only")
	require.NoError(t, err)
	assert.True(t, only.Equal(got.Time))
}

// TestMemoizePromotedMarshalerNotStored: through Memoize, whose README
// promises that "a result the codec cannot give back as it was is not
// stored, and each call computes it": no call returns a result without
// its Note, which the function never returned.
func TestMemoizePromotedMarshalerNotStored(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	m := caching.Memoize(c, "order", func(_ context.Context, id int) (stampedOrder, error) {
		return stampedOrder{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), "shipped"}, nil
	}, caching.TTL(time.Hour))
	for i := range 2 {
		got, err := m.Get(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "shipped", got.Note, "call %d", i)
	}
}

// logLevel reads itself from text (a config enum) but has no MarshalText:
// written as a number, which UnmarshalText is never given: a decode error.
type logLevel int

func (l *logLevel) UnmarshalText(b []byte) error {
	switch string(b) {
	case "debug":
		*l = 1
	case "info":
		*l = 2
	}
	return nil
}

type logSettings struct{ Level logLevel }

// logName reads itself from text and has no MarshalText, but is a string:
// written as its string, which UnmarshalText is given: not refused.
type logName string

func (n *logName) UnmarshalText(b []byte) error { *n = logName(strings.ToLower(string(b))); return nil }

type innerZ struct{ Z int }

type embedsUnexportedPointer struct {
	*innerZ // written when not nil; decoding cannot allocate it
	W       int
}

// TestCodecRefusesWhatItCannotRead: a value Marshal would write but no
// Unmarshal into its type reads back is refused, so that GetOrSet stores
// nothing rather than storing, failing to decode and loading on every
// call: a type read by UnmarshalText and written as a number; a non-nil
// value in a field of a non-empty interface type (an error); a struct
// embedding a pointer to an unexported struct.
func TestCodecRefusesWhatItCannotRead(t *testing.T) {
	ctx := t.Context()
	type checkResult struct {
		OK  bool
		Err error
	}
	for name, tc := range map[string]struct {
		load     func() any
		contains string
	}{
		"UnmarshalText only":      {func() any { return logSettings{Level: 2} }, "UnmarshalText"},
		"interface holding value": {func() any { return checkResult{false, errors.New("timeout")} }, "interface"},
		"interface in a slice":    {func() any { return []error{nil, errors.New("timeout")} }, "interface"},
		"embedded pointer":        {func() any { return embedsUnexportedPointer{&innerZ{5}, 6} }, "unexported"},
	} {
		t.Run(name, func(t *testing.T) {
			requireUnsupported(t, tc.load(), tc.contains)
			c := newCache(t, newRemoteStore())
			require.Error(t, caching.SetAs(ctx, c, "k", tc.load(), time.Minute))
		})
	}
	t.Run("GetOrSet", func(t *testing.T) {
		c := newCache(t, newRemoteStore())
		var loads int
		for range 3 {
			got, err := caching.GetOrSet(ctx, c, "settings", time.Minute, func(context.Context) (logSettings, error) {
				loads++
				return logSettings{Level: 2}, nil
			})
			var te *json.UnsupportedTypeError
			require.ErrorAs(t, err, &te, "the refusal, returned with the loaded value")
			assert.Equal(t, logLevel(2), got.Level)
		}
		assert.Equal(t, 3, loads, "refused, not stored")
	})
	t.Run("still stored", func(t *testing.T) {
		c := newCache(t, newRemoteStore())
		require.NoError(t, caching.SetAs(ctx, c, "nil error", checkResult{OK: true}, time.Minute))
		got, err := caching.GetAs[checkResult](ctx, c, "nil error")
		require.NoError(t, err)
		assert.Equal(t, checkResult{OK: true}, got)

		require.NoError(t, caching.SetAs(ctx, c, "name", struct{ N logName }{"info"}, time.Minute))
		gotName, err := caching.GetAs[struct{ N logName }](ctx, c, "name")
		require.NoError(t, err)
		assert.Equal(t, logName("info"), gotName.N)

		require.NoError(t, caching.SetAs(ctx, c, "any", struct{ V any }{errors.New("x")}, time.Minute),
			"an empty interface decodes whatever JSON holds")
	})
}

// idPart and namedPart both have an ID; conflicting embeds both, and a
// Name that shadows namedPart's.
type idPart struct{ ID int }
type namedPart struct {
	ID   int
	Name string
}
type conflicting struct {
	idPart
	namedPart
	Name string
}

// TestCodecRefusesConflictingFields: encoding/json writes neither of two
// embedded fields of one name at one depth, nor an embedded field that an
// outer field shadows: such a type is refused rather than stored without
// them.
func TestCodecRefusesConflictingFields(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	want := conflicting{idPart{1}, namedPart{2, "inner"}, "outer"}
	require.Error(t, caching.SetAs(ctx, c, "k", want, time.Minute))
	requireUnsupported(t, want, `"ID"`)
	requireUnsupported(t, struct {
		namedPart
		Name string
	}{}, `"Name"`)
	type tagged struct {
		idPart
		Key int `json:"ID"` // shadows idPart's ID
	}
	requireUnsupported(t, map[string]tagged{}, `"ID"`)

	type renamed struct {
		namedPart
		Name string `json:"title"` // no longer shadows
	}
	v := renamed{namedPart{2, "inner"}, "outer"}
	require.NoError(t, caching.SetAs(ctx, c, "renamed", v, time.Minute))
	got, err := caching.GetAs[renamed](ctx, c, "renamed")
	require.NoError(t, err)
	assert.Equal(t, v, got)
}

// hexDigest holds raw digest bytes and reads and writes itself as hex.
type hexDigest string

func (d hexDigest) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString([]byte(d))), nil }
func (d *hexDigest) UnmarshalText(b []byte) error {
	raw, err := hex.DecodeString(string(b))
	*d = hexDigest(raw)
	return err
}

// TestCodecStringKindKeyWithTextMethods: encoding/json writes a map key of
// string kind as its string, never by MarshalText, and reads it back
// through UnmarshalText: a key that UnmarshalText does not give back as it
// was is refused, rather than stored to read back as another key; one it
// gives back is stored.
func TestCodecStringKindKeyWithTextMethods(t *testing.T) {
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	want := map[hexDigest]int{"ab": 1} // the two bytes 'a', 'b'
	require.Error(t, caching.SetAs(ctx, c, "counts", want, time.Minute))
	requireUnsupported(t, want, "UnmarshalText")
	requireUnsupported(t, struct{ M map[hexDigest]int }{want}, "UnmarshalText")
	_, err := caching.GetAs[map[hexDigest]int](ctx, c, "counts")
	require.ErrorIs(t, err, caching.ErrNotFound)

	names := map[logName]int{"info": 1}
	require.NoError(t, caching.SetAs(ctx, c, "names", names, time.Minute))
	got, err := caching.GetAs[map[logName]int](ctx, c, "names")
	require.NoError(t, err)
	assert.Equal(t, names, got)
	require.Error(t, caching.SetAs(ctx, c, "names", map[logName]int{"INFO": 1}, time.Minute),
		"read back as info")
}
