package redisstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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
// make the watch allocate without bound.
const (
	maxRespBulk     = 64 << 20
	maxRespElements = 1 << 20
	maxRespDepth    = 16
)

var errRespSyntax = errors.New("redisstore: watch: malformed reply")

// readResp reads one value from r. An attribute (|) is read and dropped
// with the value it annotates returned.
func readResp(r *bufio.Reader) (respValue, error) { return readRespDepth(r, 0) }

func readRespDepth(r *bufio.Reader, depth int) (respValue, error) {
	if depth > maxRespDepth {
		return respValue{}, fmt.Errorf("%w: nested too deep", errRespSyntax)
	}
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return respValue{}, fmt.Errorf("%w: line too long", errRespSyntax)
		}
		return respValue{}, err
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return respValue{}, fmt.Errorf("%w: bad line", errRespSyntax)
	}
	kind, text := line[0], line[1:len(line)-2]
	v := respValue{kind: kind}
	switch kind {
	case '+', '-', ':', ',', '(', '#':
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
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return v, err
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return v, fmt.Errorf("%w: bulk string not ended by CRLF", errRespSyntax)
		}
		v.str = string(buf[:n])
		return v, nil
	case '*', '>', '~', '%', '|':
		n, err := respLength(text, maxRespElements)
		if err != nil || n < 0 {
			v.null = true
			return v, err
		}
		if kind == '%' || kind == '|' {
			n *= 2
		}
		v.elems = make([]respValue, n)
		for i := range v.elems {
			if v.elems[i], err = readRespDepth(r, depth+1); err != nil {
				return v, err
			}
		}
		if kind == '|' {
			return readRespDepth(r, depth)
		}
		return v, nil
	}
	return v, fmt.Errorf("%w: unknown type %q", errRespSyntax, kind)
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
