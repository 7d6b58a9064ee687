package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
)

// A memcached past its connection limit writes "ERROR Too many open
// connections" and closes. When the line reached the client over two reads
// (the first returning "ERR", as a server's split write or a slow link
// gives), its first bytes were judged alone: not the refusal, so an answer,
// which marked the server up, and the drop that followed came after data
// read, not counted. The server was never marked down, and every call dialed
// it. The start of the refusal now waits for the next read to be judged.
// net.Pipe hands each Write to one Read, so the split is certain.
func TestSplitTooManyConnectionsMarksTheServerDown(t *testing.T) {
	for _, split := range []int{1, 3, 6, 20} {
		t.Run(fmt.Sprint("after ", split, " bytes"), func(t *testing.T) {
			s, err := New(Options{Servers: []string{"127.0.0.1:1"}, Namespace: "split", GenerationTTL: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			s.setGeneration(1, time.Now()) // as if read: each Get is one call to the server
			var dials atomic.Int64
			s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				client, server := net.Pipe()
				go func() {
					defer server.Close()
					buf := make([]byte, 4096)
					if _, err := server.Read(buf); err != nil { // the request
						return
					}
					line := tooManyConns + "\r\n"
					if _, err := server.Write([]byte(line[:split])); err != nil {
						return
					}
					_, _ = server.Write([]byte(line[split:]))
				}()
				return client, nil
			}
			for i := range 20 {
				_, err := s.Get(context.Background(), fmt.Sprint("k", i))
				if err == nil || errors.Is(err, backend.ErrNotFound) {
					t.Fatalf("Get %d from a server refusing every connection: %v", i, err)
				}
			}
			if n := dials.Load(); n > 2*serverDownAfter {
				t.Errorf("%d dials for 20 Gets; want at most %d: the server refusing every connection was not marked down", n, 2*serverDownAfter)
			}
		})
	}
}

// An answer that starts as the refusal does and then differs ("ERROR" of a
// command the server does not know, split after "ERR") is an answer: it marks
// the server up.
func TestSplitErrorReplyIsAnAnswer(t *testing.T) {
	l, err := newServerList([]string{"127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	h := l.health[0]
	client, server := net.Pipe()
	defer client.Close()
	c := &healthConn{Conn: client, h: h}
	h.fails.Store(2)
	go func() {
		defer server.Close()
		_, _ = server.Write([]byte("ERR"))
		_, _ = server.Write([]byte("OR\r\n"))
	}()
	c.request = true // a request was written
	buf := make([]byte, 64)
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if n := h.fails.Load(); n != 2 {
		t.Fatalf("after the reply's first 3 bytes, fails %d; want 2 (not judged yet)", n)
	}
	if _, err := c.Read(buf); err != nil {
		t.Fatal(err)
	}
	if n := h.fails.Load(); n != 0 {
		t.Fatalf("after the whole ERROR reply, fails %d; want 0 (an answer)", n)
	}
}
