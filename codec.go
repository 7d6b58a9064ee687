package caching

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// Codec turns typed values into bytes for the backend and back. It is used by
// GetAs, SetAs, GetOrSet and Memoize when the backend is not in-process (an
// in-process store keeps the Go value itself and encodes nothing).
//
// A Codec must be safe for concurrent use, must decode into the concrete type
// it is given (never instantiate types named by the data: a shared store may
// hold bytes written by anyone with access to it), and must round-trip the
// values it accepts.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: encoding/json. It round-trips structs, maps,
// slices, time.Time (to the nanosecond, with its offset; compare with
// Time.Equal) and int64 values exactly, because values are always decoded
// into their declared Go type; inside an interface{} (map[string]any) numbers
// decode as json.Number, so large integers are kept exactly there too. It
// cannot hold NaN or infinite floats, channels or functions (Marshal returns
// an error). Unexported struct fields are not stored.
//
// It won over encoding/gob in this package's codec benchmarks (see
// BenchmarkCodec): gob writes its type descriptions with every value, which
// costs more than JSON's text for the small values caches hold, and gob's
// interface registry is what a store shared between services must not decode.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error) { return json.Marshal(v) }

func (jsonCodec) Unmarshal(data []byte, v any) error {
	switch v.(type) {
	case *any, *map[string]any, *[]any:
		// Numbers inside interfaces decode as json.Number, not float64, so
		// that integers above 2^53 survive.
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		if err := dec.Decode(v); err != nil {
			return err
		}
		// Only white space may follow (More would let a stray ] or } pass).
		if _, err := dec.Token(); err != io.EOF {
			return errors.New("caching: json: data after the value")
		}
		return nil
	}
	return json.Unmarshal(data, v)
}
