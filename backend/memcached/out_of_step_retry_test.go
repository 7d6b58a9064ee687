package memcached

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doubledServer starts a fake server whose first connection answers its
// first get twice, in one write (the connection then writes no request
// again: see healthConn.Write); every other get is a miss (but for the
// namespace generation's, 1), every incr or decr
// answered 5, every add, set and touch stored, every delete deleted,
// flush_all OK.
func doubledServer(t *testing.T) string {
	var conns atomic.Int64
	return fakeServer(t, func(c net.Conn) {
		first := conns.Add(1) == 1
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			f := strings.Fields(line)
			out := "ERROR\r\n"
			switch f[0] {
			case "get", "gets":
				out = "END\r\n"
				if f[1] == "fake:gen" {
					out = "VALUE fake:gen 0 1 1\r\n1\r\nEND\r\n"
				}
				if first {
					first = false
					out = "VALUE " + f[1] + " 0 1 1\r\nv\r\nEND\r\n" + "VALUE " + f[1] + " 0 1 1\r\nv\r\nEND\r\n"
				}
			case "incr", "decr":
				out = "5\r\n"
			case "add", "set":
				n, _ := strconv.Atoi(f[4])
				if _, err := io.ReadFull(r, make([]byte, n+2)); err != nil {
					return
				}
				out = "STORED\r\n"
			case "touch":
				out = "TOUCHED\r\n"
			case "delete":
				out = "DELETED\r\n"
			case "flush_all":
				out = "OK\r\n"
			}
			if _, err := c.Write([]byte(out)); err != nil {
				return
			}
		}
	})
}

// Regression: a connection that read a reply twice goes back to
// gomemcache's pool, and fails the next request's write, nothing sent,
// with errOutOfStepConn. Get, GetMany, Set and Delete tried it again on
// another connection; Incr, Add and Clear (its generation's incr) failed
// with it, though nothing had reached the server. Each now tries again.
func TestOutOfStepConnectionRetriedByEveryCall(t *testing.T) {
	ctx := context.Background()
	for name, call := range map[string]func(s *Store) error{
		"Incr": func(s *Store) error {
			n, err := s.Incr(ctx, "k", 1)
			if err == nil && n != 5 {
				t.Errorf("Incr = %d, want 5", n)
			}
			return err
		},
		"Decr": func(s *Store) error { _, err := s.Incr(ctx, "k", -1); return err },
		"Add": func(s *Store) error {
			ok, err := s.Add(ctx, "k", []byte("v"), time.Hour)
			if err == nil && !ok {
				t.Error("Add: not added")
			}
			return err
		},
		"Clear":  func(s *Store) error { return s.Clear(ctx) },
		"Set":    func(s *Store) error { return s.Set(ctx, "k", []byte("v"), time.Hour) },
		"Delete": func(s *Store) error { return s.Delete(ctx, "k") },
	} {
		t.Run(name, func(t *testing.T) {
			s, dials := fakeStore(t, doubledServer(t))
			v, err := s.Get(ctx, "k")
			require.NoError(t, err)
			require.Equal(t, "v", string(v))
			assert.NoError(t, call(s), "the call on the connection out of step")
			assert.Equal(t, int64(2), dials(), "dials")
		})
	}
}

// Regression: Clear with Options.FlushOnClear sends flush_all to each
// server on a connection from its pool: one out of step failed it, nothing
// sent, and the server's entries were left readable. It is sent again.
func TestOutOfStepConnectionRetriedByFlushAll(t *testing.T) {
	ctx := context.Background()
	addr := doubledServer(t)
	s, err := New(Options{Servers: []string{addr}, Namespace: "fake", GenerationTTL: time.Hour, Timeout: 10 * time.Second, FlushOnClear: true})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	s.setGeneration(1, time.Now())
	dials := countDials(s)
	v, err := s.Get(ctx, "k")
	require.NoError(t, err)
	require.Equal(t, "v", string(v))
	assert.NoError(t, s.Clear(ctx), "Clear (flush_all) on the connection out of step")
	assert.Equal(t, int64(2), dials.Load(), "dials")
}
