package argkey

// The encoder as it was before mapValue stopped cloning the encoding of a
// map's contents to sort it (it copied the whole tail of the buffer at
// every map level, quadratic in the nesting): kept as the reference the
// new one must agree with byte for byte, since keys stored by one release
// are looked up by the next.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"reflect"
	"slices"
	"time"
)

// refAppendOf is AppendOf[T] through the reference encoder.
func refAppendOf[T any](v T) ([]byte, error) {
	var e refEncoder
	return e.value([]byte{Version}, reflect.ValueOf(&v).Elem(), infoOf(reflect.TypeFor[T]()))
}

type refEncoder struct {
	depth int                  // levels on the current path (see descend)
	nodes int                  // levels entered in all
	seen  map[seenKey]struct{} // references on the current path, past cycleDepth
}

// descend counts a level entered, a pointer, map, slice, array, struct or
// value in an interface, reporting an error past maxDepth levels deep or
// maxNodes in all; the caller decrements e.depth when it leaves the level.
func (e *refEncoder) descend(v reflect.Value) error {
	e.depth++
	e.nodes++
	if e.depth > maxDepth {
		return fmt.Errorf("argkey: %s: nested deeper than %d levels: %w", v.Type(), maxDepth, ErrUnsupported)
	}
	if e.nodes > maxNodes {
		return fmt.Errorf("argkey: %s: more than %d pointers, maps, slices, arrays, structs and interface values in all "+
			"(values reached twice count twice): %w", v.Type(), maxNodes, ErrUnsupported)
	}
	return nil
}

// enter descends into a reference, recording it on the current path and
// reporting ErrCycle if it is already there. leave undoes it.
func (e *refEncoder) enter(v reflect.Value, n int) error {
	if err := e.descend(v); err != nil {
		return err
	}
	if e.depth <= cycleDepth {
		return nil
	}
	if e.seen == nil {
		e.seen = map[seenKey]struct{}{}
	}
	k := seenKey{v.Pointer(), n, v.Type()}
	if _, ok := e.seen[k]; ok {
		return fmt.Errorf("argkey: %s: %w", v.Type(), ErrCycle)
	}
	e.seen[k] = struct{}{}
	return nil
}

func (e *refEncoder) leave(v reflect.Value, n int) {
	if e.depth > cycleDepth {
		delete(e.seen, seenKey{v.Pointer(), n, v.Type()})
	}
	e.depth--
}

// value appends the encoding of v, whose type's info is ti, to buf.
func (e *refEncoder) value(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	switch ti.how {
	case unsupported:
		return buf, ti.err
	case byTime:
		var t time.Time
		if v.CanAddr() {
			t = *v.Addr().Interface().(*time.Time)
		} else {
			t = v.Interface().(time.Time)
		}
		return appendTime(buf, t), nil
	case byKeyer, byBinary, byText, byGob:
		return appendMethod(buf, v, ti)
	}
	switch v.Kind() {
	case reflect.Bool:
		return appendBool(buf, v.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return appendInt(buf, v.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return appendUint(buf, v.Uint()), nil
	case reflect.Float32, reflect.Float64:
		return appendFloat(append(buf, tagFloat), v.Float()), nil
	case reflect.Complex64, reflect.Complex128:
		c := v.Complex()
		return appendFloat(appendFloat(append(buf, tagComplex), real(c)), imag(c)), nil
	case reflect.String:
		return appendLen(buf, tagString, v.String()), nil
	case reflect.Pointer:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		if err := e.enter(v, 0); err != nil {
			return buf, err
		}
		buf, err := e.value(append(buf, tagPtr), v.Elem(), ti.elem)
		e.leave(v, 0)
		return buf, err
	case reflect.Interface:
		if v.IsNil() {
			return append(buf, tagNil), nil
		}
		v = v.Elem()
		if err := e.descend(v); err != nil {
			return buf, err
		}
		di := infoOf(v.Type())
		buf = append(buf, tagIface)
		buf, err := e.value(append(buf, di.name...), v, di)
		e.depth--
		return buf, err
	case reflect.Slice:
		n := v.Len()
		if ti.bytes {
			return appendLen(buf, tagBytes, v.Bytes()), nil
		}
		if n == 0 { // nil or empty
			return append(buf, tagList, 0), nil
		}
		if err := e.enter(v, n); err != nil {
			return buf, err
		}
		buf, err := e.list(buf, v, n, ti.elem)
		e.leave(v, n)
		return buf, err
	case reflect.Array:
		n := v.Len()
		if !ti.bytes {
			if err := e.descend(v); err != nil {
				return buf, err
			}
			buf, err := e.list(buf, v, n, ti.elem)
			e.depth--
			return buf, err
		}
		buf = binary.AppendUvarint(append(buf, tagBytes), uint64(n))
		if v.CanAddr() {
			return append(buf, v.Bytes()...), nil
		}
		for i := range n {
			buf = append(buf, byte(v.Index(i).Uint()))
		}
		return buf, nil
	case reflect.Map:
		if err := e.enter(v, 0); err != nil {
			return buf, err
		}
		buf, err := e.mapValue(buf, v, ti)
		e.leave(v, 0)
		return buf, err
	case reflect.Struct:
		if err := e.descend(v); err != nil {
			return buf, err
		}
		buf = binary.AppendUvarint(append(buf, tagStruct), uint64(len(ti.fields)))
		var err error
		for _, f := range ti.fields {
			if buf, err = e.value(append(buf, f.name...), v.Field(f.index), f.info); err != nil {
				return buf, err
			}
		}
		e.depth--
		return buf, nil
	}
	return buf, fmt.Errorf("argkey: %s: %w", v.Type(), ErrUnsupported)
}

func (e *refEncoder) list(buf []byte, v reflect.Value, n int, elem *typeInfo) ([]byte, error) {
	buf = binary.AppendUvarint(append(buf, tagList), uint64(n))
	var err error
	for i := range n {
		if buf, err = e.value(buf, v.Index(i), elem); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// mapValue encodes a map's pairs sorted by the bytes of their keys (then of
// their values: a map may hold several NaN keys).
func (e *refEncoder) mapValue(buf []byte, v reflect.Value, ti *typeInfo) ([]byte, error) {
	n := v.Len()
	buf = binary.AppendUvarint(append(buf, tagMap), uint64(n))
	if n == 0 {
		return buf, nil
	}
	// Encode the pairs after the header, then sort them in place.
	start := len(buf)
	type pair struct{ k, kv [2]int } // [start,end) of the key and of key+value, relative to start
	pairs := make([]pair, 0, n)
	it := v.MapRange()
	var err error
	for it.Next() {
		p := len(buf)
		if buf, err = e.value(buf, it.Key(), ti.key); err != nil {
			return buf, err
		}
		k := len(buf)
		if buf, err = e.value(buf, it.Value(), ti.elem); err != nil {
			return buf, err
		}
		pairs = append(pairs, pair{[2]int{p - start, k - start}, [2]int{p - start, len(buf) - start}})
	}
	enc := bytes.Clone(buf[start:])
	slices.SortFunc(pairs, func(a, b pair) int {
		if c := bytes.Compare(enc[a.k[0]:a.k[1]], enc[b.k[0]:b.k[1]]); c != 0 {
			return c
		}
		return bytes.Compare(enc[a.kv[0]:a.kv[1]], enc[b.kv[0]:b.kv[1]])
	})
	buf = buf[:start]
	for _, p := range pairs {
		buf = append(buf, enc[p.kv[0]:p.kv[1]]...)
	}
	return buf, nil
}
