package caching_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
)

// shape is a polymorphic element; shapeList writes and reads its elements
// itself (the discriminated-union pattern), so a shapeList round-trips
// although a []shape holding a squareShape would not.
type shape interface{ Area() float64 }
type squareShape struct{ Side float64 }

func (s squareShape) Area() float64 { return s.Side * s.Side }

type shapeList []shape

func (l shapeList) MarshalJSON() ([]byte, error) {
	out := make([]float64, len(l))
	for i, s := range l {
		out[i] = s.(squareShape).Side
	}
	return json.Marshal(out)
}

func (l *shapeList) UnmarshalJSON(b []byte) error {
	var in []float64
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*l = make(shapeList, len(in))
	for i, side := range in {
		(*l)[i] = squareShape{side}
	}
	return nil
}

// shapePair is shapeList's array counterpart, with pointer methods.
type shapePair [2]shape

func (p *shapePair) MarshalJSON() ([]byte, error) {
	return json.Marshal([2]float64{p[0].(squareShape).Side, p[1].(squareShape).Side})
}

func (p *shapePair) UnmarshalJSON(b []byte) error {
	var in [2]float64
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*p = shapePair{squareShape{in[0]}, squareShape{in[1]}}
	return nil
}

// stampLog's elements embed time.Time, which alone would be refused (the
// promoted MarshalJSON would drop Note), but stampLog writes and reads
// them itself.
type stampLog []stampedOrder

type stampRow struct {
	T    time.Time
	Note string
}

func (l stampLog) MarshalJSON() ([]byte, error) {
	out := make([]stampRow, len(l))
	for i, x := range l {
		out[i] = stampRow{x.Time, x.Note}
	}
	return json.Marshal(out)
}

func (l *stampLog) UnmarshalJSON(b []byte) error {
	var in []stampRow
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	*l = make(stampLog, len(in))
	for i, x := range in {
		(*l)[i] = stampedOrder{x.T, x.Note}
	}
	return nil
}

// storedAndRead stores v through JSON (SetAs on a store that encodes) and
// returns what GetAs reads back.
func storedAndRead[T any](t *testing.T, v T) T {
	t.Helper()
	ctx := t.Context()
	c := newCache(t, newRemoteStore())
	require.NoError(t, caching.SetAs(ctx, c, "k", v, time.Minute), "stored")
	got, err := caching.GetAs[T](ctx, c, "k")
	require.NoError(t, err)
	return got
}

// TestCodecStoresListTypeThatEncodesItself: a slice or array type with its
// own MarshalJSON and UnmarshalJSON is written and read by them, whatever
// its elements: it is stored and read back as it was, alone, through a
// pointer, in a struct field or in a map, rather than judged by elements it
// never lets encoding/json see.
func TestCodecStoresListTypeThatEncodesItself(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	shapes := shapeList{squareShape{2}, squareShape{3}}
	log := stampLog{{when, "shipped"}}
	pair := shapePair{squareShape{1}, squareShape{4}}

	assert.Equal(t, shapes, storedAndRead(t, shapes))
	assert.Equal(t, &shapes, storedAndRead(t, &shapes))
	assert.Equal(t, log, storedAndRead(t, log))
	assert.Equal(t, pair, storedAndRead(t, pair))
	type order struct {
		Shapes shapeList
		Log    stampLog
		Pair   shapePair
	}
	o := order{shapes, log, pair}
	assert.Equal(t, o, storedAndRead(t, o))
	assert.Equal(t, []order{o}, storedAndRead(t, []order{o}))
	m := map[string]shapeList{"a": shapes}
	assert.Equal(t, m, storedAndRead(t, m))

	// Without their methods, the same elements are still refused.
	requireUnsupported(t, []shape{squareShape{2}}, "interface")
	requireUnsupported(t, []stampedOrder{{when, "shipped"}}, "embeds")
	requireUnsupported(t, &[1]stampedOrder{{when, "shipped"}}, "embeds")
	requireUnsupported(t, &stampedOrder{when, "shipped"}, "embeds")
}

// handleImpl has no exported field: encoding/json writes nothing of it,
// and has nothing to allocate it for when reading a handle.
type handleImpl struct{ n int }

type handle struct {
	*handleImpl
	Name string
}

// noCopyMark is an embedded marker without fields (a noCopy guard).
type noCopyMark struct{}

type markedStamp struct {
	time.Time
	noCopyMark
}

// EmptyPart is an exported struct without fields.
type EmptyPart struct{}

type stampWithEmptyPart struct {
	time.Time
	EmptyPart
	Skipped EmptyPart `json:"-"`
}

// implWithField has an exported field, which encoding/json writes through
// the embedded pointer and cannot read back (it cannot allocate the
// unexported struct): still refused.
type implWithField struct{ Z int }

type handleWithField struct {
	*implWithField
	Name string
}

// TestCodecStoresEmbedsWithoutJSONFields: an embedded struct that
// contributes no JSON field changes nothing encoding/json writes: a
// pointer to an unexported struct without exported fields, or an empty
// marker beside time.Time (whose methods still write and read all of the
// struct), is stored and read back as it was.
func TestCodecStoresEmbedsWithoutJSONFields(t *testing.T) {
	when := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	h := handle{Name: "a"}
	assert.Equal(t, h, storedAndRead(t, h))
	assert.Equal(t, handle{Name: "b"}, storedAndRead(t, handle{&handleImpl{5}, "b"}),
		"unexported fields are not stored")
	m := markedStamp{Time: when, noCopyMark: noCopyMark{}}
	assert.Equal(t, m, storedAndRead(t, m))
	e := stampWithEmptyPart{Time: when}
	assert.Equal(t, e, storedAndRead(t, e))

	requireUnsupported(t, handleWithField{&implWithField{1}, "a"}, "unexported")
	requireUnsupported(t, struct {
		markedStamp
		Note string
	}{}, "embeds")
}

// label is an unexported non-struct type, which encoding/json ignores
// when embedded.
type label string

// codedError is an error type whose nil pointer is returned as an error.
type codedError struct{ Code int }

func (e *codedError) Error() string { return fmt.Sprint("code ", e.Code) }

// TestCodecInterfaceFields: encoding/json ignores an embedded field of an
// unexported non-struct type, such as an embedded error or string type: it
// is not stored (as an unexported field is not), and not refused, whatever
// it holds. A typed nil in an
// error field is written as null and read back as a nil error, which
// compares differently (err != nil was true): it is refused, with an error
// that says so.
func TestCodecInterfaceFields(t *testing.T) {
	type failure struct {
		error
		Code int
	}
	assert.Equal(t, failure{Code: 3}, storedAndRead(t, failure{errors.New("boom"), 3}))
	assert.Equal(t, []failure{{Code: 4}}, storedAndRead(t, []failure{{errors.New("boom"), 4}}))
	type labelled struct {
		label
		N int
	}
	assert.Equal(t, labelled{N: 5}, storedAndRead(t, labelled{"\xff", 5}), "not UTF-8, but not written")

	type result struct{ Err error }
	requireUnsupported(t, result{(*codedError)(nil)}, "typed nil")
	requireUnsupported(t, result{&codedError{1}}, "interface with methods")
	assert.Equal(t, result{}, storedAndRead(t, result{}))
}
