package e2e

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
)

// conn is one keep-alive HTTP/1.1 client connection that sends the same GET
// again and again and reads each response with as little work as it can:
// the load generator shares the cores with the server it measures, so what
// it costs per request is taken from every contender. It reads bodies of a
// Content-Length or chunked, and notices "Connection: close".
type conn struct {
	c   net.Conn
	r   *bufio.Reader
	req []byte
	// statusHeader is the header (lower case, with its colon) whose value
	// says HIT.
	statusHeader []byte
}

// response is what the load generator checks of one response.
type response struct {
	status int
	length int64 // body bytes read
	hit    bool  // the status header said HIT
	close  bool  // the server will close the connection
}

func newRequest(host, target string) []byte {
	return []byte("GET " + target + " HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: e2ebench\r\nAccept: */*\r\n\r\n")
}

func dial(addr, target string) (*conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	return &conn{
		c:            c,
		r:            bufio.NewReaderSize(c, 16<<10),
		req:          newRequest(addr, target),
		statusHeader: statusHeaderKey,
	}, nil
}

func (c *conn) Close() error { return c.c.Close() }

// roundTrip sends the request and reads the whole response.
func (c *conn) roundTrip() (response, error) {
	if _, err := c.c.Write(c.req); err != nil {
		return response{}, err
	}
	return readResponse(c.r, c.statusHeader)
}

var (
	statusHeaderKey = []byte(strings.ToLower(StatusHeader) + ":")
	errMalformed    = errors.New("e2e: malformed HTTP response")
	crlf            = []byte("\r\n")
	hitValue        = []byte("HIT")
)

// readResponse reads one response from r; statusHeader is the lower-case
// name and colon of the header that says HIT.
func readResponse(r *bufio.Reader, statusHeader []byte) (response, error) {
	var resp response
	line, err := readLine(r)
	if err != nil {
		return resp, err
	}
	// "HTTP/1.1 200 OK"
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' {
		return resp, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	status, ok := parseUint(line[9:12], 10)
	if !ok {
		return resp, fmt.Errorf("%w: status line %q", errMalformed, line)
	}
	resp.status = int(status)
	resp.close = line[7] == '0' // HTTP/1.0 closes unless told otherwise
	length, chunked := int64(-1), false
	for {
		line, err := readLine(r)
		if err != nil {
			return resp, err
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return resp, fmt.Errorf("%w: header line %q", errMalformed, line)
		}
		name, value := line[:colon+1], bytes.TrimSpace(line[colon+1:])
		switch {
		case bytes.EqualFold(name, statusHeader):
			resp.hit = bytes.Equal(value, hitValue)
		case bytes.EqualFold(name, []byte("content-length:")):
			var ok bool
			if length, ok = parseUint(value, 10); !ok {
				return resp, fmt.Errorf("%w: Content-Length %q", errMalformed, value)
			}
		case bytes.EqualFold(name, []byte("transfer-encoding:")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("connection:")):
			resp.close = bytes.EqualFold(value, []byte("close"))
		}
	}
	switch {
	case chunked:
		resp.length, err = discardChunked(r)
	case length >= 0:
		var n int
		n, err = r.Discard(int(length))
		resp.length = int64(n)
	default: // the body runs to the end of the connection
		resp.close = true
		resp.length, err = io.Copy(io.Discard, r)
	}
	return resp, err
}

// discardChunked reads a chunked body and its trailers, returning the
// body's length.
func discardChunked(r *bufio.Reader) (int64, error) {
	var total int64
	for {
		line, err := readLine(r)
		if err != nil {
			return total, err
		}
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i] // chunk extensions
		}
		size, ok := parseUint(bytes.TrimSpace(line), 16)
		if !ok {
			return total, fmt.Errorf("%w: chunk size %q", errMalformed, line)
		}
		if size == 0 {
			for { // trailers, up to the empty line
				line, err := readLine(r)
				if err != nil || len(line) == 0 {
					return total, err
				}
			}
		}
		n, err := r.Discard(int(size))
		total += int64(n)
		if err != nil {
			return total, err
		}
		if line, err := readLine(r); err != nil || len(line) != 0 {
			return total, fmt.Errorf("%w: no CRLF after a chunk", errMalformed)
		}
	}
}

// parseUint parses a non-negative number of at most 15 digits in base 10
// or 16, without the allocation of strconv on a []byte.
func parseUint(b []byte, base int64) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		var d int64
		switch {
		case '0' <= c && c <= '9':
			d = int64(c - '0')
		case base == 16 && 'a' <= c|0x20 && c|0x20 <= 'f':
			d = int64(c|0x20-'a') + 10
		default:
			return 0, false
		}
		n = n*base + d
	}
	return n, true
}

// readLine returns the next line without its CRLF. The slice is valid until
// the next read from r.
func readLine(r *bufio.Reader) ([]byte, error) {
	line, err := r.ReadSlice('\n')
	if err != nil {
		if errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("%w: line longer than %d bytes", errMalformed, r.Size())
		}
		return nil, err
	}
	if !bytes.HasSuffix(line, crlf) {
		return nil, fmt.Errorf("%w: line %q does not end in CRLF", errMalformed, line)
	}
	return line[:len(line)-2], nil
}
