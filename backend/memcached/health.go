package memcached

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend"
)

// A server that fails serverDownAfter calls in a row at the connection (a
// dial that fails, a read or write that times out, a new connection closed
// or reset before it read anything, memcached's "ERROR Too many open
// connections" before it drops a connection past its limit; not a reply,
// an error reply included, nor a pooled connection that a restart closed:
// see healthConn) is marked down for serverRetry: the calls for its keys
// are refused at once, dialing nothing, with an error wrapping
// backend.ErrServerDown, and the first call after the cool-down probes the
// server with a version command of its own (see admit) and goes ahead if it
// answered. An answer on any connection to it marks it up.
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
// is memcached's refusal of the connection (see tooManyConns), which is a
// failure; a read or write that timed out is a failure. A connection closed
// or reset by the server is a failure when it has read nothing yet (a proxy
// in front of a server that is gone, a server past its connection limit:
// each new connection is accepted and dropped at once, and the dials
// succeed), and not once it has: that is what a restart does to the pooled
// connections (calls that change nothing are retried once on a new one),
// and a server that is gone for good refuses the dials that follow, which
// count.
//
// An error reply (SERVER_ERROR, CLIENT_ERROR, ERROR) is an answer: the
// server, and the connection, work. Behind twemproxy or mcrouter, one
// address in front of many servers, the proxy answers "SERVER_ERROR ..."
// for a key whose own server is down, or for an item too large or without
// memory: counted against the proxy, 3 such replies in a row marked it
// down, and with it every key on every server behind it. A proxy that
// answers every command so fails every call with an error the caching
// package's breaker counts, as a Store whose servers are all down does.
//
// gomemcache uses a connection from one goroutine at a time (a call, then
// the pool): the fields need no lock.
type healthConn struct {
	net.Conn
	h *serverHealth
	// read reports that data was read on the connection.
	read bool
	// request reports that a request was written since the reply's start
	// was judged: the next data read starts (or goes on with) its reply.
	request bool
	// matched is how many bytes of tooManyConns the reply's start matched
	// so far, when the server split it over reads: the next read decides.
	matched int
}

// tooManyConns is memcached's refusal of a connection past its limit
// (-c), written at once on a new connection, which memcached then closes.
// It is the one error line that is not an answer: the connection is
// refused, not the request.
const tooManyConns = "ERROR Too many open connections"

// errTooManyConns is the failure tooManyConns reports, made once: a
// failure allocates nothing.
var errTooManyConns = errors.New(`answered "` + tooManyConns + `"`)

func (c *healthConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	switch {
	case n > 0:
		c.read = true
		if c.request {
			c.replyStart(p[:n])
		}
	case err == nil:
	case timeout(err) || dropped(err) && (!c.read || c.matched > 0):
		// A drop after a part of tooManyConns is its end.
		c.h.failed(err)
	}
	return n, err
}

// replyStart judges data, the start of a reply (or its next bytes while
// they matched tooManyConns so far): an answer, which marks the server up,
// unless it is tooManyConns, a failure. Data that matches the start of
// tooManyConns and ends before it (a server's split write, a read that
// returned its first bytes) leaves the judgement to the next read. An
// answer whose first byte is not 'E' costs one comparison.
func (c *healthConn) replyStart(data []byte) {
	m := c.matched
	if m == 0 && data[0] != 'E' {
		c.request = false
		c.h.answered()
		return
	}
	k := min(len(data), len(tooManyConns)-m)
	switch {
	case string(data[:k]) != tooManyConns[m:m+k]:
		c.request, c.matched = false, 0
		c.h.answered()
	case m+k == len(tooManyConns):
		c.request, c.matched = false, 0
		c.h.failed(errTooManyConns)
	default:
		c.matched = m + k
	}
}

func (c *healthConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.request = true
	if err != nil && (timeout(err) || !c.read && dropped(err)) {
		c.h.failed(err)
	}
	return n, err
}
