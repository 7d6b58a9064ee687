package e2e

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, raw string
		want      response
	}{
		{"content length, hit", "HTTP/1.1 200 OK\r\nX-Cache: HIT\r\nContent-Length: 5\r\n\r\nhello",
			response{status: 200, length: 5, hit: true}},
		{"header names in any case", "HTTP/1.1 200 OK\r\nx-cache:HIT\r\ncontent-length: 5\r\n\r\nhello",
			response{status: 200, length: 5, hit: true}},
		{"miss", "HTTP/1.1 200 OK\r\nX-Cache: MISS\r\nContent-Length: 0\r\n\r\n",
			response{status: 200}},
		{"chunked, extensions and trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x=y\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: t\r\n\r\n",
			response{status: 200, length: 15}},
		{"connection close", "HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 3\r\n\r\nno!",
			response{status: 404, length: 3, close: true}},
		{"HTTP/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
			response{status: 200, length: 2, close: true}},
		{"HTTP/1.0 kept alive", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok",
			response{status: 200, length: 2}},
		{"body to the end", "HTTP/1.1 200 OK\r\n\r\nuntil close",
			response{status: 200, length: 11, close: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := bufio.NewReader(strings.NewReader(tt.raw))
			got, err := readResponse(r, statusHeaderKey)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v; want %+v", got, tt.want)
			}
			if rest, _ := io.ReadAll(r); len(rest) != 0 {
				t.Errorf("%q left unread", rest)
			}
		})
	}
}

// TestReadResponseKeepsAlive reads two responses from one stream.
func TestReadResponseKeepsAlive(t *testing.T) {
	one := "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc"
	r := bufio.NewReader(strings.NewReader(one + one))
	for i := range 2 {
		if got, err := readResponse(r, statusHeaderKey); err != nil || got.length != 3 {
			t.Fatalf("response %d: %+v, %v", i+1, got, err)
		}
	}
}

func TestReadResponseRejectsMalformed(t *testing.T) {
	for name, raw := range map[string]string{
		"status line":      "HTTP/2 200\r\n\r\n",
		"status code":      "HTTP/1.1 2x0 OK\r\n\r\n",
		"bare LF":          "HTTP/1.1 200 OK\n\n",
		"header":           "HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
		"content length":   "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"chunk size":       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"chunk terminator": "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := readResponse(bufio.NewReader(strings.NewReader(raw)), statusHeaderKey)
			if !errors.Is(err, errMalformed) {
				t.Errorf("error %v; want errMalformed", err)
			}
		})
	}
}

func TestReadResponseTruncated(t *testing.T) {
	raw := "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"
	if _, err := readResponse(bufio.NewReader(strings.NewReader(raw)), statusHeaderKey); !errors.Is(err, io.EOF) {
		t.Errorf("error %v; want io.EOF", err)
	}
}
