//go:build !plan9

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

// undoFaults is what failUndo's connections saw: whether the first decr
// was failed, how many decrs were written, and whether the server refused
// one as "non-numeric".
type undoFaults struct {
	done       atomic.Bool
	decrs      atomic.Int32
	nonNumeric atomic.Bool
}

// failUndo makes s's client dial through connections that fail the first
// decr as f says.
func failUndo(s *Store, f undoFault) *undoFaults {
	u := new(undoFaults)
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &undoFailingConn{Conn: c, fault: f, u: u}, nil
	}
	return u
}

type undoFailingConn struct {
	net.Conn
	fault    undoFault
	u        *undoFaults
	readFail bool // the next Read times out
	drain    bool // after reading the server's answer, which is lost
}

func (c *undoFailingConn) Write(p []byte) (int, error) {
	if bytes.HasPrefix(p, []byte("decr ")) {
		c.u.decrs.Add(1)
	}
	if !bytes.HasPrefix(p, []byte("decr ")) || !c.u.done.CompareAndSwap(false, true) {
		return c.Conn.Write(p)
	}
	switch c.fault {
	case undoUnsent:
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: syscall.EPIPE}
	case undoAnswerLost:
		c.readFail, c.drain = true, true
		return c.Conn.Write(p)
	default:
		c.readFail = true
		return len(p), nil
	}
}

func (c *undoFailingConn) Read(p []byte) (int, error) {
	if c.readFail {
		if c.drain {
			c.drain = false
			n, _ := c.Conn.Read(p)
			c.noteNonNumeric(p[:n])
		}
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	}
	n, err := c.Conn.Read(p)
	c.noteNonNumeric(p[:n])
	return n, err
}

func (c *undoFailingConn) noteNonNumeric(reply []byte) {
	if bytes.Contains(reply, []byte("non-numeric")) {
		c.u.nonNumeric.Store(true)
	}
}

// nonNumericQuirk is the counter's text when memcached refused the undo
// as non-numeric: on a value at or above 2^63 its parser (safe_strtoull)
// looks for a '-' with strchr, past the value's end into whatever memory
// follows it, and refuses the value when it finds one there. Not applied:
// the counter stays where the Incr took it.
const nonNumericQuirk = "9223372036854775808"

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
		decrs int32  // decrs written: the undo, and whether it was sent again
	}{
		{undoUnsent, "write failed: sent again", before, false, 2},
		{undoAnswerLost, "answer lost: not sent again", before, true, 1},
		{undoCommandLost, "command lost: not sent again", "9223372036854775808", true, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := New(Options{Servers: addrs[:1], Namespace: namespaceFor("incrundo"), Timeout: 5 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			n, err := s.Incr(bg, "ctr", math.MaxInt64-1)
			require.NoError(t, err)
			require.Equal(t, int64(math.MaxInt64-1), n)

			u := failUndo(s, tc.fault)
			s.client.Close() // idle connections: the undo dials through failUndo
			_, err = s.Incr(bg, "ctr", 2)
			require.True(t, u.done.Load(), "the undo was not failed")
			require.ErrorIs(t, err, backend.ErrNotInteger)
			assert.Equal(t, tc.decrs, u.decrs.Load(), "decrs written")
			said := err != nil && bytes.Contains([]byte(err.Error()), []byte("may be left above MaxInt64"))

			v, err := s.Get(bg, "ctr")
			require.NoError(t, err)
			if u.nonNumeric.Load() && tc.left == before {
				// The server refused the undo that reached it (see
				// nonNumericQuirk): the Incr must say so.
				t.Log("memcached refused the undo as non-numeric")
				assert.True(t, said, "a refused undo said")
				assert.Equal(t, nonNumericQuirk, string(v))
				return
			}
			assert.Equal(t, tc.said, said, "error: %v", err)
			assert.Equal(t, tc.left, string(v))
			if tc.left == before {
				n, err = s.Incr(bg, "ctr", 1)
				require.NoError(t, err, "the counter still counts")
				assert.Equal(t, int64(math.MaxInt64), n)
			}
		})
	}
}
