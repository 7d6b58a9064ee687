package memcached

import (
	"bytes"
	"context"
	"math"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// undoFault is how the first decr a Store sends fails: the undo of an Incr
// past math.MaxInt64 (the Incr's own command is an incr).
type undoFault int

const (
	undoUnsent      undoFault = iota // its write fails: the server never gets it
	undoAnswerLost                   // the server applies it; its answer never comes
	undoCommandLost                  // it never reaches the server; no answer comes
)

// failUndo makes s's client dial through connections that fail the first
// decr as f says; the flag is set once one has.
func failUndo(s *Store, f undoFault) *atomic.Bool {
	done := new(atomic.Bool)
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &undoFailingConn{Conn: c, fault: f, done: done}, nil
	}
	return done
}

type undoFailingConn struct {
	net.Conn
	fault    undoFault
	done     *atomic.Bool
	readFail bool // the next Read times out
}

func (c *undoFailingConn) Write(p []byte) (int, error) {
	if !bytes.HasPrefix(p, []byte("decr ")) || !c.done.CompareAndSwap(false, true) {
		return c.Conn.Write(p)
	}
	switch c.fault {
	case undoUnsent:
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	case undoAnswerLost:
		c.readFail = true
		return c.Conn.Write(p)
	default:
		c.readFail = true
		return len(p), nil
	}
}

func (c *undoFailingConn) Read(p []byte) (int, error) {
	if c.readFail {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	return c.Conn.Read(p)
}

// TestIncrOverflowUndoThatFails: Incr takes back a change memcached applied
// past math.MaxInt64, and dropped the error of that undo: when it failed,
// the counter was left above MaxInt64, every later Incr failing with
// backend.ErrNotInteger until it was deleted or expired, and nothing said
// so. Now an undo whose write failed (never run) is sent again; one that
// may have been applied is not (the counter would be taken back twice,
// wrong in range where nothing tells it), and Incr's error says the
// counter may be left above MaxInt64.
func TestIncrOverflowUndoThatFails(t *testing.T) {
	bg := context.Background()
	addrs := testutil.MemcachedAddrs(t)
	const before = "9223372036854775806" // math.MaxInt64-1
	cases := []struct {
		fault undoFault
		name  string
		left  string // the counter after the Incr
		said  bool   // Incr's error says the counter may be left above MaxInt64
	}{
		{undoUnsent, "write failed: sent again", before, false},
		{undoAnswerLost, "answer lost: not sent again", before, true},
		{undoCommandLost, "command lost: not sent again", "9223372036854775808", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Servers: addrs[:1], Namespace: namespaceFor("incrundo"), Timeout: 5 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			n, err := s.Incr(bg, "ctr", math.MaxInt64-1)
			require.NoError(t, err)
			require.Equal(t, int64(math.MaxInt64-1), n)

			failed := failUndo(s, tc.fault)
			s.client.Close() // idle connections: the undo dials through failUndo
			_, err = s.Incr(bg, "ctr", 2)
			require.True(t, failed.Load(), "the undo was not failed")
			require.ErrorIs(t, err, backend.ErrNotInteger)
			assert.Equal(t, tc.said, err != nil && bytes.Contains([]byte(err.Error()), []byte("may be left above MaxInt64")), "error: %v", err)

			v, err := s.Get(bg, "ctr")
			require.NoError(t, err)
			assert.Equal(t, tc.left, string(v))
			if tc.left == before {
				n, err = s.Incr(bg, "ctr", 1)
				require.NoError(t, err, "the counter still counts")
				assert.Equal(t, int64(math.MaxInt64), n)
			}
		})
	}
}
