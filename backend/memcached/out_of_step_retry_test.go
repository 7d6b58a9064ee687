package memcached

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doubledServer starts a fake server whose first doubled connections
// answer their first get twice, in one write (each connection then writes
// no request again: see healthConn.Write), each once all of them have
// their get, so that they are open at once. Every get is answered with
// the value "v" for each key, but the namespace generation's, whose value
// is gen until a set or add of it stores another; every other add and set
// is stored, every incr or decr answered 5, every touch touched, every
// delete deleted, flush_all OK.
func doubledServer(t *testing.T, doubled int64, gen string) string {
	var conns, firsts atomic.Int64
	all := make(chan struct{})
	var mu sync.Mutex
	return fakeServer(t, func(c net.Conn) {
		first := conns.Add(1) <= doubled
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
				out = ""
				for _, k := range f[1:] {
					v := "v"
					if k == "fake:gen" {
						mu.Lock()
						v = gen
						mu.Unlock()
					}
					out += "VALUE " + k + " 0 " + strconv.Itoa(len(v)) + " 1\r\n" + v + "\r\n"
				}
				out += "END\r\n"
				if first {
					first = false
					out += out
					if firsts.Add(1) == doubled {
						close(all)
					}
					<-all
				}
			case "incr", "decr":
				out = "5\r\n"
			case "add", "set":
				n, _ := strconv.Atoi(f[4])
				data := make([]byte, n+2)
				if _, err := io.ReadFull(r, data); err != nil {
					return
				}
				if f[1] == "fake:gen" {
					mu.Lock()
					gen = string(data[:n])
					mu.Unlock()
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
			s, dials := fakeStore(t, doubledServer(t, 1, "1"))
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
	addr := doubledServer(t, 1, "1")
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
