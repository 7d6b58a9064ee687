package memcached

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
)

// A server that fails serverDownAfter calls in a row at the connection (a
// dial that fails, a read or write that times out, a new connection closed
// or reset before it read anything, a reply that says that the server
// cannot serve, such as "SERVER_ERROR Connection refused" from a proxy; not
// an answer of the server, such as a miss or "SERVER_ERROR out of memory",
// nor a pooled connection that a restart closed: see healthConn) is marked
// down for serverRetry: the calls for its keys are refused at once, dialing
// nothing, with an error wrapping backend.ErrServerDown, and the first call
// after the cool-down probes the server with a version command of its own
// (see admit) and goes ahead if it answered. An answer on any connection to
// it marks it up.
//
// Without it, a dead server made each call for its keys fail (at the cost
// of a dial, or of Options.Timeout when it drops packets), and the caching
// package's circuit breaker, which sees the Store as one backend, counted
// those failures against every server: it opened, and refused the keys of
// the servers that work too.
const (
	serverDownAfter = 3
	serverRetry     = time.Second
)

// serverHealth is what the Store knows of one server's health. Its hot
// paths are one atomic load each: PickServer's check of downUntil, and a
// read's check of fails.
type serverHealth struct {
	addr, network string
	list          *serverList
	// fails counts the connection-level failures since the last answer.
	fails atomic.Int32
	// downUntil is, while the server is marked down, the end of its
	// cool-down (or of the probe's lease once a probe was let through), in
	// Unix nanoseconds; 0 while it is up. Written under mu, but for the
	// probe's swap.
	downUntil atomic.Int64
	// refusal is the error of the calls refused while the server is down:
	// made when it is marked down, so that a refusal allocates nothing.
	refusal atomic.Pointer[refusal]
	mu      sync.Mutex
}

// refusal is the error a server marked down refuses calls with: down
// while some other server is up, allDown once every server is down.
type refusal struct {
	down, allDown error
}

// refusedError is the error of a call refused because its server is marked
// down. It wraps backend.ErrServerDown unless every server is marked down:
// then the Store as a whole is down, and the caching package's breaker must
// count the refusal as a failure.
type refusedError struct {
	msg   string
	wraps error // backend.ErrServerDown, or nil
}

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return e.wraps }

// failed notes a connection-level failure of the server (err says what),
// and marks the server down once serverDownAfter came in a row.
func (h *serverHealth) failed(err error) {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, backend.ErrClosed) {
		return // closed by the Store (Close) or by gomemcache after a failure
	}
	if h.fails.Add(1) < serverDownAfter {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.fails.Load()
	if n < serverDownAfter {
		return // an answer came meanwhile
	}
	if h.downUntil.Load() == 0 {
		h.list.down.Add(1)
	}
	cause := err.Error()
	h.refusal.Store(&refusal{
		down: &refusedError{
			msg:   fmt.Sprintf("memcached: server %s marked down after %d failures in a row (the last: %s): %v", h.addr, n, cause, backend.ErrServerDown),
			wraps: backend.ErrServerDown,
		},
		allDown: &refusedError{
			msg: fmt.Sprintf("memcached: every server marked down (%s after %d failures in a row, the last: %s)", h.addr, n, cause),
		},
	})
	h.downUntil.Store(time.Now().Add(serverRetry).UnixNano())
}

// answered notes that the server answered: it is up. One atomic load
// while it was up already.
func (h *serverHealth) answered() {
	if h.fails.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails.Store(0)
	if h.downUntil.Swap(0) != 0 {
		h.list.down.Add(-1)
	}
}

// admit returns nil if a call may go to the server, found marked down
// until d (PickServer loads downUntil, and calls admit only when it is not
// 0): its cool-down is over, the call is the one to probe the server (one
// per serverRetry), and the probe found it up. Otherwise it returns the
// refusal's error.
//
// The probe is a version command of its own (list.probe), made before the
// call: not the call itself, whose shape decides nothing. A GetMulti picks
// the server of each of its keys before it sends anything: were its first
// key on the server the probe, the server's next key would be refused, and
// the GetMulti with it, having sent nothing; GetMany traffic would never
// probe the server, which would stay marked down for ever. Once the probe
// has marked the server up, every key of the call is admitted.
func (h *serverHealth) admit(d int64) error {
	now := time.Now().UnixNano()
	if now >= d && h.downUntil.CompareAndSwap(d, now+int64(serverRetry)) {
		// The probe; its connection's outcome marks the server up or down.
		if h.list.probe == nil || h.list.probe(h) == nil {
			return nil
		}
	}
	r := h.refusal.Load()
	if int(h.list.down.Load()) >= h.list.servers {
		return r.allDown
	}
	return r.down
}

// healthConn is a connection to a server that reports its outcomes to the
// server's health. The start of a reply (the first data read after a
// request was written) is an answer, which marks the server up, unless it
// is an error of the server's own (see replyFailure), which is a failure; a
// read or write that timed out is a failure. A connection closed or reset
// by the server is a failure when it has read nothing yet (a proxy in front
// of a server that is gone, a server past its connection limit: each new
// connection is accepted and dropped at once, and the dials succeed), and
// not once it has: that is what a restart does to the pooled connections
// (calls that change nothing are retried once on a new one), and a server
// that is gone for good refuses the dials that follow, which count.
//
// gomemcache uses a connection from one goroutine at a time (a call, then
// the pool): the fields need no lock.
type healthConn struct {
	net.Conn
	h *serverHealth
	// read reports that data was read on the connection.
	read bool
	// request reports that a request was written since the last data
	// read: the next data read starts its reply.
	request bool
}

func (c *healthConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	switch {
	case n > 0:
		c.read = true
		if c.request {
			c.request = false
			if f := replyFailure(p[:n]); f != nil {
				c.h.failed(f)
			} else {
				c.h.answered()
			}
		}
	case err == nil:
	case timeout(err) || !c.read && dropped(err):
		c.h.failed(err)
	}
	return n, err
}

func (c *healthConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.request = true
	if err != nil && (timeout(err) || !c.read && dropped(err)) {
		c.h.failed(err)
	}
	return n, err
}

// replyFailure returns the error of a reply that starts with reply (the
// data of the first read, which holds the first line but when the server
// split it) when the reply says that the server cannot serve: a
// SERVER_ERROR that is not an item's refusal (twemproxy's "SERVER_ERROR
// Connection refused", or mcrouter's, from a proxy whose memcached is gone;
// a server answering every command so), or memcached's "ERROR Too many open
// connections" before it drops a connection past its limit. Otherwise it
// returns nil: the reply is an answer (a value, a miss, STORED, a
// CLIENT_ERROR about the request, the bare ERROR of a command the server
// does not know). An item's refusal ("SERVER_ERROR object too large for
// cache", "SERVER_ERROR out of memory storing object") is the item's, and
// an answer: the server serves the others (see outOfMemory). It costs one
// byte comparison on an answer.
func replyFailure(reply []byte) error {
	if reply[0] != 'S' && reply[0] != 'E' {
		return nil
	}
	line := reply
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	line = bytes.TrimRight(line, "\r")
	switch {
	case bytes.HasPrefix(line, []byte("SERVER_ERROR")):
		if msg := string(line); strings.Contains(msg, "too large") || outOfMemory(msg) {
			return nil
		}
	case !bytes.HasPrefix(line, []byte("ERROR ")):
		return nil
	}
	return fmt.Errorf("answered %q", line)
}
