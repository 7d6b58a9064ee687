package redisstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
)

// The RESP3 protocol, as much of it as the invalidation watch needs: it
// speaks to the server on a connection of its own (see watch.go), because
// go-redis does not hand a pooled connection's push messages to its caller.

// respValue is one RESP3 value: its type byte, its text (strings, errors,
// numbers, as sent), and the elements of an aggregate (a map's keys and
// values alternate).
type respValue struct {
	kind  byte
	str   string
	elems []respValue
	null  bool
}

// Limits on what a server may send, so that a broken or hostile one cannot
// make the watch allocate without bound: a declared length over them is an
// error. Below them, the reader allocates as the bytes arrive, never for a
// length declared and not sent: it starts a bulk string's buffer at no more
// than respChunk bytes and an aggregate's elements at no more than
// respFirstElems, and grows them as it reads, to about twice what arrived.
const (
	maxRespBulk     = 64 << 20
	maxRespElements = 1 << 20
	maxRespDepth    = 16
	respChunk       = 4 << 10
	respFirstElems  = 64
)

var errRespSyntax = errors.New("redisstore: watch: malformed reply")

// readResp reads one value from r. An attribute (|) is read and dropped
// with the value it annotates returned. A stream that ends before the value
// starts gives io.EOF; one that ends inside it, io.ErrUnexpectedEOF. The
// whole reply, attributes and nested values included, holds at most
// maxRespElements values and maxRespBulk bytes of strings: past either it
// is an error, so that a server sending one endless reply cannot make the
// watch hold more than that (2^20 values of 56 bytes and 64 MiB of
// strings, a line's text included: about 120 MiB, however the bytes on the
// wire are spent). The watch ends its session on such a reply, as on any
// error: the near cache empties itself and the watch reconnects.
func readResp(r *bufio.Reader) (respValue, error) {
	rr := respReader{r: r, valuesLeft: maxRespElements, bytesLeft: maxRespBulk}
	return rr.value(0)
}

// respReader reads one reply, counting what it holds against the reply's
// budgets: values and string bytes left.
type respReader struct {
	r          *bufio.Reader
	valuesLeft int
	bytesLeft  int
}

// value reads one value that depth aggregates enclose, after any number
// of attributes, which it reads and drops in a loop (an attribute is
// followed by its value at the same depth: recursing on it would let a
// stream of attributes grow the stack without bound).
func (rr *respReader) value(depth int) (respValue, error) {
	if depth > maxRespDepth {
		return respValue{}, fmt.Errorf("%w: nested too deep", errRespSyntax)
	}
	v, err := rr.one(depth)
	for err == nil && v.kind == '|' {
		v, err = rr.one(depth)
		err = unexpectedEOF(err) // the value an attribute annotates must follow it
	}
	return v, err
}

// one reads one value, or one attribute (kind '|', its elements read and
// dropped), that depth aggregates enclose.
func (rr *respReader) one(depth int) (respValue, error) {
	if rr.valuesLeft--; rr.valuesLeft < 0 {
		return respValue{}, fmt.Errorf("%w: more than %d values in one reply", errRespSyntax, maxRespElements)
	}
	kind, text, err := readRespLine(rr.r)
	if err != nil {
		return respValue{}, err
	}
	v := respValue{kind: kind}
	switch kind {
	case '+', '-', ':', ',', '(', '#':
		if rr.bytesLeft -= len(text); rr.bytesLeft < 0 {
			return v, fmt.Errorf("%w: more than %d bytes of strings in one reply", errRespSyntax, maxRespBulk)
		}
		v.str = string(text)
		return v, nil
	case '_':
		v.null = true
		return v, nil
	case '$', '!', '=':
		n, err := respLength(text, maxRespBulk)
		if err != nil || n < 0 {
			v.null = true
			return v, err
		}
		if rr.bytesLeft -= n; rr.bytesLeft < 0 {
			return v, fmt.Errorf("%w: more than %d bytes of strings in one reply", errRespSyntax, maxRespBulk)
		}
		v.str, err = readBulk(rr.r, n)
		return v, err
	case '*', '>', '~', '%', '|':
		n, err := respLength(text, maxRespElements)
		if err != nil || n < 0 {
			v.null = true
			return v, err
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		v.elems, err = rr.elems(n, depth)
		if kind == '|' {
			v.elems = nil // an attribute is dropped
		}
		return v, err
	}
	return v, fmt.Errorf("%w: unknown type %q", errRespSyntax, kind)
}

// readRespLine reads one line: its type byte and the text between that and
// the CRLF. The text aliases r's buffer.
func readRespLine(r *bufio.Reader) (kind byte, text []byte, err error) {
	line, err := r.ReadSlice('\n')
	switch {
	case errors.Is(err, bufio.ErrBufferFull):
		return 0, nil, fmt.Errorf("%w: line too long", errRespSyntax)
	case err == io.EOF && len(line) > 0:
		return 0, nil, io.ErrUnexpectedEOF
	case err != nil:
		return 0, nil, err
	case len(line) < 3 || line[len(line)-2] != '\r':
		return 0, nil, fmt.Errorf("%w: bad line", errRespSyntax)
	}
	return line[0], line[1 : len(line)-2], nil
}

// readBulk reads a bulk string of n bytes and the CRLF after it. Its
// buffer grows as they arrive: each read asks for as many bytes as the
// ones before it (respChunk at first), so that a length declared and not
// sent costs about twice what was, not what was declared.
func readBulk(r *bufio.Reader, n int) (string, error) {
	b := make([]byte, 0, min(n+2, respChunk))
	for len(b) < n+2 {
		m := min(n+2-len(b), max(len(b), respChunk))
		b = slices.Grow(b, m)
		if _, err := io.ReadFull(r, b[len(b):len(b)+m]); err != nil {
			return "", unexpectedEOF(err)
		}
		b = b[:len(b)+m]
	}
	if b[n] != '\r' || b[n+1] != '\n' {
		return "", fmt.Errorf("%w: bulk string not ended by CRLF", errRespSyntax)
	}
	return string(b[:n]), nil
}

// elems reads the n elements of an aggregate at depth. The slice grows
// as they arrive (from respFirstElems), so that a count declared and not
// sent costs no more than the elements that were; those read before an
// error are returned with it.
func (rr *respReader) elems(n, depth int) ([]respValue, error) {
	elems := make([]respValue, 0, min(n, respFirstElems))
	for range n {
		e, err := rr.value(depth + 1)
		if err != nil {
			return elems, unexpectedEOF(err)
		}
		elems = append(elems, e)
	}
	return elems, nil
}

// unexpectedEOF turns io.EOF, which only the end of a stream between two
// values may give, into io.ErrUnexpectedEOF: for callers inside a value.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// respLength parses a length: -1 (null) up to limit.
func respLength(text []byte, limit int) (int, error) {
	n, err := strconv.Atoi(string(text))
	if err != nil || n < -1 || n > limit {
		return 0, fmt.Errorf("%w: bad length", errRespSyntax)
	}
	return n, nil
}

// field returns the value of name in a map (or nil).
func (v respValue) field(name string) *respValue {
	for i := 0; i+1 < len(v.elems); i += 2 {
		if v.elems[i].str == name {
			return &v.elems[i+1]
		}
	}
	return nil
}

// appendCommand appends a command in RESP: an array of bulk strings.
func appendCommand(dst []byte, args ...string) []byte {
	dst = append(dst, '*')
	dst = strconv.AppendInt(dst, int64(len(args)), 10)
	dst = append(dst, '\r', '\n')
	for _, a := range args {
		dst = append(dst, '$')
		dst = strconv.AppendInt(dst, int64(len(a)), 10)
		dst = append(dst, '\r', '\n')
		dst = append(dst, a...)
		dst = append(dst, '\r', '\n')
	}
	return dst
}
