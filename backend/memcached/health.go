package memcached

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-caching/caching/backend"
)

// A server that fails serverDownAfter calls in a row at the connection (a
// dial that fails, a read or write that times out, a new connection closed
// or reset before it read anything, memcached's "ERROR Too many open
// connections" before it drops a connection past its limit; not a reply,
// nor a pooled connection that a restart closed: see healthConn), or that
// gives error replies and no other for errorWindow (see errorReply), or
// values over Options.MaxItemSize and no other, a probe's never-written
// key among them (see overItemReply), is marked down for serverRetry: the
// calls for its keys are refused at once, dialing nothing, with an error
// wrapping backend.ErrServerDown, and the first call after the cool-down
// probes the server with gets of its own (see admit) and goes ahead if it
// got a normal reply. A normal reply on
// any connection to it marks it up.
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

// errorWindow is how long a server must give error replies and no other
// (at least serverDownAfter of them) to be marked down: a proxy whose
// upstreams are all dead (mcrouter, twemproxy, memcached's proxy mode)
// answers "SERVER_ERROR ..." to everything, while one with a single
// upstream dead answers that upstream's keys so and the others normally,
// and must stay up. Error replies in a row alone cannot tell the two apart
// (a burst of the dead upstream's keys gives a few); a second with no
// normal reply at all can, for a server that has traffic.
const errorWindow = time.Second

// serverHealth is what the Store knows of one server's health. Its hot
// paths are atomic loads: PickServer's check of downUntil, and a normal
// reply's check of fails and errReplies.
type serverHealth struct {
	addr, network string
	list          *serverList
	// fails counts the connection-level failures since the last answer.
	fails atomic.Int32
	// timedOut is the server's last failure by a timeout (a dial, read or
	// write that waited Options.Timeout), for GetMany not to send its keys
	// again (see Store.getBatch); nil before the first.
	timedOut atomic.Pointer[timeoutFailure]
	// lostAt is the place among the losses of every server of the list
	// (serverList.losses) of the server's last lost connection (see
	// lose); 0 before the first.
	lostAt atomic.Uint64
	// strayAt is the place among the stray replies of every server of the
	// list (serverList.strays) of the server's last (see strayed); 0
	// before the first.
	strayAt atomic.Uint64
	// errReplies is the error replies (see errorReply) since the last
	// normal one.
	errReplies streak
	// overReplies is the get replies whose every value was over
	// Options.MaxItemSize (see overItemReply) since the last normal reply.
	overReplies streak
	// checking is set while a call probes the server before marking it
	// down for a streak (see extend): one probe at a time, whatever the
	// streak's kind.
	checking atomic.Bool
	// answeredAt is about when the server last gave a normal reply, in Unix
	// nanoseconds (written at most once per answeredGrain): an error reply
	// within errorWindow of it refuses its key, not the server (see
	// keyRefused).
	answeredAt atomic.Int64
	// downUntil is, while the server is marked down, the end of its
	// cool-down (or of the probe's lease once a probe was let through), in
	// Unix nanoseconds; 0 while it is up. Written under mu, but for the
	// probe's swap; only moved forward while the server is down (see
	// keepDownLocked).
	downUntil atomic.Int64
	// refusal is the error of the calls refused while the server is down:
	// made when it is marked down, so that a refusal allocates nothing.
	refusal atomic.Pointer[refusal]
	mu      sync.Mutex
}

// timeoutFailure is a failure of a server by a timeout: its error, and its
// place among the timeouts of every server of the list (serverList.timeouts).
type timeoutFailure struct {
	seq uint64
	err error
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
	// byOp is the same refusal as the call of each of refusedOps reads it
	// ("memcached: <command> <server>: ..."), made with it when the server
	// is marked down (see named); nil in those, and in readPrefix's.
	byOp *[len(refusedOps)]refusedError
}

func (e *refusedError) Error() string { return e.msg }
func (e *refusedError) Unwrap() error { return e.wraps }

// refusedOps are the commands a refusal names (see refusedError.named):
// those this package sends for the keys of one server. A refusal is made
// for each when the server is marked down, so that a refused call
// allocates no error of its own.
var refusedOps = [...]string{"get", "set", "add", "delete", "incr", "decr"}

// newRefusedError returns the refusal that text(op) describes, for the
// command op ("" for none: what PickServer returns), with its byOp.
func newRefusedError(wraps error, text func(op string) string) *refusedError {
	e := &refusedError{msg: text(""), wraps: wraps, byOp: new([len(refusedOps)]refusedError)}
	for i, op := range refusedOps {
		e.byOp[i] = refusedError{msg: text(op), wraps: wraps}
	}
	return e
}

// named returns e as the refusal of a call of the command op, which
// names the command as the package's other errors do (see wrap): e itself
// when op is none of refusedOps, or e has no byOp.
func (e *refusedError) named(op string) *refusedError {
	if e.byOp != nil {
		for i, o := range refusedOps {
			if o == op {
				return &e.byOp[i]
			}
		}
	}
	return e
}

// failed notes a connection-level failure of the server (err says what),
// and marks the server down once serverDownAfter came in a row.
func (h *serverHealth) failed(err error) {
	if errors.Is(err, net.ErrClosed) || errors.Is(err, backend.ErrClosed) {
		return // closed by the Store (Close) or by gomemcache after a failure
	}
	if timeout(err) {
		h.timedOut.Store(&timeoutFailure{seq: h.list.timeouts.Add(1), err: err})
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
	h.markDownLocked(fmt.Sprintf("%d failures in a row, the last: %s", n, causeText(err)))
}

// lose notes that a connection to the server failed, or was lost: a dial
// that failed, a connection closed by gomemcache (after a failure of the
// call on it, as a rule; when its pool is full too) or found out of step
// (see dropOutOfStep). It ranks the loss among the list's (lostAt), for a
// GetMany to tell whether the server failed its multi-get (see
// answeredWhole).
func (h *serverHealth) lose() { rank(&h.list.losses, &h.lostAt) }

// strayed notes that a reply of the server named a key its get did not
// ask for (see replyFrame.stray): the connection was out of step, and the
// values read before it may answer an earlier get. It ranks the reply
// among the list's (strayAt), for a multi-get that failed before
// gomemcache read that key's value whole, which then has no key not asked
// for to tell it, to drop the server's values all the same (see
// Store.getMulti).
func (h *serverHealth) strayed() { rank(&h.list.strays, &h.strayAt) }

// rank counts an event of a server's in count, the list's, and raises at,
// the server's place among them, to that count.
func rank(count, at *atomic.Uint64) {
	n := count.Add(1)
	for {
		old := at.Load()
		if old >= n || at.CompareAndSwap(old, n) {
			return
		}
	}
}

// streak is a run of replies of one kind, of one server, and no normal
// reply since (which ends it: see answered), for a rule that marks the
// server down on a long one (see serverHealth.extend). Its zero value is
// no reply yet.
type streak struct {
	// n counts the replies.
	n atomic.Int32
	// since, under the server's mu, is when the first of them came, in
	// Unix nanoseconds.
	since int64
}

// streakRule is what sets one rule of extend apart from the others.
type streakRule struct {
	// unprobed reports whether a long streak marks the server down
	// without a probe when it is marked down already (kept down, for
	// serverRetry from now) or the Store probes nothing; a rule without
	// it needs its probe's word.
	unprobed bool
	// confirms reports whether the probe's error (nil for a normal reply)
	// bears the streak out: the server is marked down.
	confirms func(err error) bool
	// why says why the server is marked down after n replies and no
	// other in d, the last of them line.
	why func(n int32, d time.Duration, line []byte) string
}

// extend notes a reply of the streak s, line (nil where r needs none),
// and marks the server down once s holds serverDownAfter replies and
// spans errorWindow, and a probe (see Store.probe: gets of several keys)
// bears it out (r.confirms). The probe runs on the call's goroutine, one
// at a time for every streak of the server (checking), once the server is
// about to be marked down: a few round trips, once. A server marked down
// already is kept down, for serverRetry from now and with the refusal it
// has, and one of a Store without probes is marked down, when r is
// unprobed; either is left as it is otherwise.
func (h *serverHealth) extend(s *streak, r *streakRule, line []byte) {
	now := h.list.nanotime()
	h.mu.Lock()
	n := s.n.Add(1)
	if n == 1 {
		s.since = now
	}
	if !h.dueLocked(s, r, n, now, line) {
		h.mu.Unlock()
		return
	}
	h.mu.Unlock()
	// The probe's own replies come back here: they find checking set.
	if !h.checking.CompareAndSwap(false, true) {
		return
	}
	defer h.checking.Store(false)
	// A probe that ended since n was counted started the count anew (its
	// normal reply an answer) or marked the server down: a call late to
	// its turn must not probe again.
	h.mu.Lock()
	now, n = h.list.nanotime(), s.n.Load()
	if !h.dueLocked(s, r, n, now, line) {
		h.mu.Unlock()
		return
	}
	why := r.why(n, time.Duration(now-s.since), line)
	h.mu.Unlock()
	if !r.confirms(h.list.probe(h)) {
		return // a normal reply marked the server up (answered); or r takes no word from it
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.n.Load() != 0 {
		h.markDownLocked(why)
	}
}

// dueLocked reports whether the streak s, of n replies at now, calls for
// a probe: it is long enough, the server is up, and the Store probes.
// It marks the server down where r does so unprobed; a server marked down
// already is kept down for serverRetry from now (or longer, as it was),
// with the refusal it has (the replies of the calls in flight when a dead
// proxy was marked down come on many goroutines at once: a refusal made
// anew for each, its messages formatted under h.mu, held every other reply
// of the server up). So the refusal's text keeps the reason that marked
// the server down, not that of the later streaks that keep it down: it
// says what a user needs to find the fault (the replies, and how many in
// how long, that took the server out), and reads "marked down after"
// truly. Connection failures (see failed) mark the server down anew, and
// their reason replaces it.
// Called with h.mu held.
func (h *serverHealth) dueLocked(s *streak, r *streakRule, n int32, now int64, line []byte) bool {
	if n < serverDownAfter || now-s.since < int64(errorWindow) {
		return false
	}
	switch down := h.downUntil.Load() != 0; {
	case down && r.unprobed:
		h.keepDownLocked(now + int64(serverRetry))
		return false
	case down || h.list.probe == nil:
		if r.unprobed {
			h.markDownLocked(r.why(n, time.Duration(now-s.since), line))
		}
		return false
	}
	return true
}

// errorReply notes an error reply of the server (line, a SERVER_ERROR that
// refuses no item: see itemRefusal), and marks the server down once it gave
// serverDownAfter of them and no normal reply for errorWindow, and a probe
// gets no normal reply either (see extend). The probe tells a proxy whose
// upstreams are all dead from one with a single upstream dead under light
// traffic: a client asking for one of the dead upstream's keys every
// second or so, nobody asking for anything else, gives error replies and
// no other for seconds, and the proxy must stay up. Gaps between the
// error replies tell nothing: a dead proxy's errors open the caching
// package's breaker, which then sends it nothing for its cool-down. A
// server marked down already (its probe answered so) stays down.
func (h *serverHealth) errorReply(line []byte) { h.extend(&h.errReplies, &errorRule, line) }

// errorRule is errorReply's rule: any failure of the probe bears the error
// replies out.
var errorRule = streakRule{
	unprobed: true,
	confirms: func(err error) bool { return err != nil },
	why: func(n int32, d time.Duration, line []byte) string {
		return fmt.Sprintf("%d error replies and no other in %v, the last: %q",
			n, d.Round(time.Millisecond), bytes.TrimRight(line, "\r\n"))
	},
}

// errProbeOverItem is wrapped by the error of a probe whose get, of a key
// no Store writes, was answered with a value over Options.MaxItemSize.
var errProbeOverItem = errors.New("a value over Options.MaxItemSize for a key never written")

// overItemReply notes a get's reply whose values were all over
// Options.MaxItemSize, refused (see maxSkipped), and marks the server down
// once it gave serverDownAfter of them and no other reply for
// errorWindow, and a probe's get, of a key no Store writes (see
// Store.probe), was answered with such a value too (see extend). Such a
// reply is the server's answer, and each refuses its key only: a healthy
// server holding many large values, written by a process told a larger
// MaxItemSize, gives them in a row, to a GetMany of them or to reads of
// nothing else, and must stay up. It answers the probe's key with a miss,
// which marks it up; a server broken (or hostile) so that it answers
// every get with such a value answers the probe's key so too. A probe
// that fails otherwise (a timeout) marks nothing: that failure counts as
// any other.
func (h *serverHealth) overItemReply() { h.extend(&h.overReplies, &overItemRule, nil) }

// overItemRule is overItemReply's rule: only the probe's word marks the
// server down.
var overItemRule = streakRule{
	confirms: func(err error) bool { return errors.Is(err, errProbeOverItem) },
	why: func(n int32, d time.Duration, _ []byte) string {
		return fmt.Sprintf("%d replies of values over Options.MaxItemSize and no other in %v, a key never written (its probe's) among them",
			n, d.Round(time.Millisecond))
	},
}

// wrap is the package's wrap (see wrap) for an error of the command op sent
// to the server of h (nil for a call to several): an error reply (see
// healthConn) that came within errorWindow of a normal reply of the server
// is a refusal of the call's key, not a failure of the server, and wraps
// backend.ErrKeyRefused.
// A proxy with one upstream dead answers that upstream's keys with an error
// and the others normally: under load, runs of such errors in a row opened
// the caching package's breaker for every key of the cache, again and
// again, though the proxy was never marked down, rightly. A server whose
// replies are all errors for errorWindow (a dead proxy) fails as before,
// and is marked down; its errors before that, within errorWindow of its
// last normal reply, are refusals.
func (h *serverHealth) wrap(op string, err error) error {
	addr := ""
	if h != nil {
		addr = h.addr
	}
	w := wrap(op, addr, err)
	if h == nil || w == nil {
		return w // before re, which errors.As moves to the heap
	}
	var re *refusedError
	_, ran := err.(*ranError) // a dropped connection's, whose retry's refusal may quote error replies
	switch {
	case ran, errors.As(err, &re), errors.Is(w, backend.ErrValueTooLarge),
		!strings.Contains(err.Error(), `"SERVER_ERROR`), // gomemcache quotes the reply line
		h.list.nanotime()-h.answeredAt.Load() > int64(errorWindow):
		return w
	}
	return fmt.Errorf("memcached: %s %s: %w (the server answers other keys): %w", op, h.addr, backend.ErrKeyRefused, unprefixed(err))
}

// markDownLocked marks the server down for serverRetry, for the reason
// why. Called with h.mu held.
func (h *serverHealth) markDownLocked(why string) {
	if h.downUntil.Load() == 0 {
		h.list.down.Add(1)
	}
	h.refusal.Store(&refusal{
		down: newRefusedError(backend.ErrServerDown, func(op string) string {
			if op == "" {
				return fmt.Sprintf("memcached: server %s marked down after %s: %v", h.addr, why, backend.ErrServerDown)
			}
			return fmt.Sprintf("memcached: %s %s: server marked down after %s: %v", op, h.addr, why, backend.ErrServerDown)
		}),
		allDown: newRefusedError(nil, func(op string) string {
			if op == "" {
				return fmt.Sprintf("memcached: every server marked down (%s after %s)", h.addr, why)
			}
			return fmt.Sprintf("memcached: %s %s: every server marked down (this one after %s)", op, h.addr, why)
		}),
	})
	h.keepDownLocked(h.list.nanotime() + int64(serverRetry))
}

// keepDownLocked keeps the server marked down until at least until: it
// moves downUntil forward only. A reply's now is read before it waited
// for h.mu (a reply that waited longer than another stored an earlier
// deadline after it, and let a call probe the server early), and admit
// takes a probe's lease without h.mu. Called with h.mu held, downUntil 0
// or not (a server up is marked down).
func (h *serverHealth) keepDownLocked(until int64) {
	for {
		d := h.downUntil.Load()
		if d >= until || h.downUntil.CompareAndSwap(d, until) {
			return
		}
	}
}

// answeredGrain is how stale answeredAt may be: a normal reply writes it
// only when it is older than that, so that the replies of a busy server,
// read on many goroutines at once, do not all write one shared word.
const answeredGrain = errorWindow / 16

// answered notes that the server gave a normal reply: it is up. A clock
// read and four atomic loads while it was up already.
func (h *serverHealth) answered() {
	if now := h.list.nanotime(); now-h.answeredAt.Load() >= int64(answeredGrain) {
		h.answeredAt.Store(now)
	}
	if h.fails.Load() == 0 && h.errReplies.n.Load() == 0 && h.overReplies.n.Load() == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fails.Store(0)
	h.errReplies.n.Store(0)
	h.overReplies.n.Store(0)
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
// The probe is made of gets of its own (list.probe), before the call: not the call itself, whose shape decides nothing. A GetMulti picks
// the server of each of its keys before it sends anything: were its first
// key on the server the probe, the server's next key would be refused, and
// the GetMulti with it, having sent nothing; GetMany traffic would never
// probe the server, which would stay marked down for ever. Once the probe
// has marked the server up, every key of the call is admitted.
func (h *serverHealth) admit(d int64) error {
	now := h.list.nanotime()
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
// server's health. The start of a reply (the first line read after a
// request was written) is a normal reply, which marks the server up, unless
// it is memcached's refusal of the connection (see tooManyConns), a
// failure, or an error reply (see below); a read or write that timed out is
// a failure. A connection closed or reset by the server is a failure when
// it has read nothing yet (a proxy in front of a server that is gone, a
// server past its connection limit: each new connection is accepted and
// dropped at once, and the dials succeed), or when it cut a reply's first
// line short, or a get's reply within its values (before its END: the
// values read so far are kept, the failure is the server's alone), and not
// otherwise: that is what a restart does to the pooled
// connections (calls that change nothing are retried once on a new one),
// and a server that is gone for good refuses the dials that follow, which
// count.
//
// A "SERVER_ERROR ..." reply that refuses no item (see itemRefusal) is an
// error reply: behind mcrouter, twemproxy or memcached's proxy mode, one
// address in front of many servers, the proxy answers so for a key whose
// own server is down, and for everything once they all are. It is not a
// failure: a proxy with one upstream dead must stay up, serving the others'
// keys, where 3 such replies in a row once marked it down with every key
// behind it. Nor is it an answer: a proxy whose upstreams are all dead was
// never marked down, and its errors, which the caching package's breaker
// counts, opened the breaker for the keys of the servers that work too.
// errorReply marks the server down once it gave error replies and no other
// for errorWindow. Other error lines (CLIENT_ERROR, ERROR, an item too
// large or without memory) are normal replies: the server refuses that
// request, and works.
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
	// valueReply reports that the reply started with a VALUE line, and has
	// not read a line of another kind since (see replyStart).
	valueReply bool
	// line[:n] is the start of the reply's first line read so far, while
	// it may be tooManyConns or an error reply and the server split it
	// over reads: the next read decides.
	line [replyLineMax]byte
	n    int
	// lone follows the reply to a one-line request (see oneLineRequest),
	// for the connection to be kept after an error reply (see kept); m is
	// how much of "SERVER_ERROR" the reply matched so far.
	lone loneError
	m    int
	// frame follows the replies, and fails the reads of one that breaks
	// the protocol (see replyFrame).
	frame replyFrame
	// begun reports that a request was written since the connection was
	// opened or brought back in step (see probeConn.inStep); endsAt is
	// frame.ends when the last one started (see Write).
	begun  bool
	endsAt uint64
	// raw, peekFD, peeked, noPeek and peekBuf are the check of the
	// socket before a request (see Write and peek): raw is the socket
	// under the connection, peekFD peeks at it, peeked is what it found,
	// and peekBuf its buffer; all made at the first check, raw and
	// peekFD nil with noPeek set where the connection is no socket.
	// gone reports that the check found the connection closed by the
	// server: it writes nothing more.
	raw     syscall.RawConn
	peekFD  func(fd uintptr) bool
	peeked  sockState
	noPeek  bool
	gone    bool
	peekBuf [1]byte
}

// sockState is what peek finds on a pooled connection's socket before a
// request.
type sockState uint8

const (
	sockIdle   sockState = iota // nothing waiting (or the peek cannot tell)
	sockUnread                  // bytes waiting that no read took
	sockClosed                  // the server closed or reset the connection
)

// loneError is where a connection stands in the reply to a one-line
// request.
type loneError uint8

const (
	loneNone    loneError = iota // no one-line request's error reply under way
	loneReading                  // a one-line request sent; its reply may be an error line
	loneClean                    // its reply was one SERVER_ERROR line, and nothing came after it
)

// replyLineMax is how much of a reply's first line healthConn reads to
// judge it: an error line longer than that is judged on its start.
const replyLineMax = 80

// tooManyConns is memcached's refusal of a connection past its limit
// (-c), written at once on a new connection, which memcached then closes.
// The connection is refused, not the request: a failure.
const tooManyConns = "ERROR Too many open connections"

var (
	tooManyConnsBytes = []byte(tooManyConns)
	serverError       = []byte("SERVER_ERROR")
)

// errTooManyConns is the failure tooManyConns reports, made once: a
// failure allocates nothing.
var errTooManyConns = errors.New(`answered "` + tooManyConns + `"`)

// errCannotReadNow is readNow's error for a connection it cannot read
// without waiting.
var errCannotReadNow = errors.New("memcached: the connection cannot be read without waiting")

// readArrived is c.Read(p), which takes, when the read deadline has passed,
// what arrived on c already. The reply may have come all the same, to a
// process starved of CPU past the deadline (its goroutine scheduled late,
// the deadline's timer run before the poller's news): it is read without
// waiting, and only none is a timeout.
func readArrived(c net.Conn, p []byte) (int, error) {
	n, err := c.Read(p)
	if n == 0 && timeout(err) {
		if m, rerr := readNow(c, p, time.Unix(0, 1)); m > 0 && rerr == nil {
			return m, nil
		}
	}
	return n, err
}

func (c *healthConn) Read(p []byte) (int, error) {
	if c.frame.err != nil {
		return 0, c.frame.err
	}
	ends, stray := c.frame.ends, c.frame.stray
	n, got, err := c.frame.read(c.Conn, p)
	if c.frame.stray && !stray {
		c.h.strayed()
	}
	if err != nil && timeout(err) && c.frame.skipping() {
		// The server answered, with a value this Store skips, whose
		// data (or the "\r\n" after it) did not all come within
		// Timeout: its key is refused, as one too large to skip is (see
		// maxSkipped).
		err = c.frame.fail(fmt.Errorf("%w: its data did not come within Options.Timeout", errOverItemSize))
	}
	if c.frame.err != nil {
		// None of it reaches gomemcache, which fails the call and
		// closes the connection: a broken server's reply is a failure
		// of the server; a value over MaxItemSize that is not skipped
		// is the server's normal answer, refused by this Store.
		c.lone = loneNone
		switch {
		case errors.Is(err, errOverItemSize) && c.frame.kept == 0:
			c.h.overItemReply() // no value of the reply kept
		case errors.Is(err, errOverItemSize):
			c.h.answered()
		default:
			c.h.failed(err)
		}
		return 0, err
	}
	if err != nil {
		c.lone = loneNone
	}
	if got {
		c.read = true
	}
	switch {
	case n > 0:
		c.follow(p[:n])
		if c.request {
			c.replyStart(p[:n])
		}
		if c.valueReply && c.frame.ends != ends {
			c.valueReply = false
			if c.frame.runValues > 0 && c.frame.runKept == 0 {
				c.h.overItemReply() // every value skipped
			} else {
				c.h.answered()
			}
		}
	case err == nil:
	case timeout(err) || dropped(err) && (!c.read || c.n > 0 || c.valueReply):
		// A drop within a reply's first line cuts it short; one within
		// a get's values (before its END), the reply whose values were
		// read so far (see replyStart).
		c.h.failed(err)
	}
	return n, err
}

// reply is healthConn's judgement of a reply's first line.
type reply int

const (
	replyUndecided reply = iota // the line so far may be either
	replyNormal
	replyError   // an error reply: see healthConn
	replyRefusal // tooManyConns
)

// replyStart judges data, the start of a reply (or its next bytes while
// its first line is undecided): a normal reply, which marks the server up,
// an error reply, or tooManyConns, a failure (see healthConn). A line
// split over reads that may still be one of the last two leaves the
// judgement to the next read. A reply whose first byte is neither 'E' nor
// 'S' costs one comparison; one that starts so, a copy of its first bytes.
// A reply that starts with 'V' (a get's VALUE line) marks the server up
// once a line of another kind is read whole (a get's END, the frame's
// ends), not at its start: a reply that breaks, or stops coming, within
// its values is a failure of the server alone, and a server whose every
// get reply does so is marked down (a failure after an answer counted
// one failure a call, and never reached serverDownAfter).
func (c *healthConn) replyStart(data []byte) {
	if c.n == 0 && data[0] != 'E' && data[0] != 'S' {
		c.request = false
		if data[0] == 'V' {
			c.valueReply = true
			return
		}
		c.h.answered()
		return
	}
	c.n += copy(c.line[c.n:], data)
	line := c.line[:c.n]
	switch judge(line, c.n == len(c.line)) {
	case replyUndecided:
		return
	case replyNormal:
		c.h.answered()
	case replyError:
		c.h.errorReply(line)
	case replyRefusal:
		c.h.failed(errTooManyConns)
	}
	c.request, c.n = false, 0
}

// judge judges line, the start of a reply's first line, whole when full
// or when it holds its '\n'.
func judge(line []byte, full bool) reply {
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line, full = line[:i+1], true
	}
	switch {
	case bytes.HasPrefix(line, tooManyConnsBytes):
		return replyRefusal
	case bytes.HasPrefix(line, serverError):
		switch {
		case !full:
			return replyUndecided
		case itemRefusal(line):
			return replyNormal
		}
		return replyError
	case !full && (bytes.HasPrefix(tooManyConnsBytes, line) || bytes.HasPrefix(serverError, line)):
		return replyUndecided
	}
	return replyNormal
}

// itemRefusal reports whether line, a SERVER_ERROR reply, refuses one
// item rather than the request: a value too large, or no memory for it
// (see outOfMemory). The server works, and serves the other items.
func itemRefusal(line []byte) bool {
	return bytes.Contains(line, []byte("too large")) || outOfMemory(string(line))
}

// Write writes p, a request, or the next bytes of one. A connection that
// read a value of a key its get did not ask for (frame.stray: out of step
// with its replies, the next read the reply to an earlier request) writes
// nothing: gomemcache has put it back in its pool, where another call may
// take it before the Store closes the idle connections. It fails with
// errOutOfStepConn, which a call retries as it does a stale pooled
// connection's error (see dropped), and gomemcache closes it.
//
// So does a connection whose frame read more than one reply since the
// last request started (every reply to a request of gomemcache's ends with
// one line that is not a VALUE line, frame.ends), or stands within a
// reply: what came after the last reply, in the read that had it, lies in
// gomemcache's buffer, and would be the next request's reply. A server or
// proxy that sent a reply twice in one write had every later get on the
// connection read the reply to the one before: the values of the keys it
// asked for, one request old, which no check of the keys tells.
//
// And so does a connection that has bytes waiting on its socket, unread,
// when a request starts after an earlier one's reply (see peek): what
// came after that reply, in a later write of the server's (once the
// connection was back in gomemcache's pool), would be the next request's
// reply as well. A server or proxy that sent a reply again, late, had the
// next get of the same key read that copy: its value one request old. The
// check costs a non-blocking peek (one recvfrom with MSG_PEEK) a request,
// allocating nothing; the first request of a connection is not checked (a
// server's own line before any request, memcached's refusal of a
// connection past its limit, is read as that request's reply: see
// healthConn).
//
// A connection the same peek finds closed (or reset) by the server writes
// nothing either, and fails with errServerClosedConn: memcached's
// idle_timeout, a restart or a proxy closing its idle clients closes every
// pooled connection at once, and a request written on each failed with
// EOF, after which a call that cannot be sent twice (an Add, an Incr) was
// not tried again, and the others only once. Nothing was written: the
// call goes on another connection as after errOutOfStepConn (see
// unwritten), and the server's health is not told (the server closing an
// idle connection is no failure of it; the dial that follows tells one).
func (c *healthConn) Write(p []byte) (int, error) {
	if !c.request {
		// A request starts (its reply's start judged since the last).
		if c.begun {
			switch {
			case c.frame.ends-c.endsAt > 1 || c.frame.state != frameLine || c.frame.line != 0:
				c.frame.stray = true
			default:
				switch c.peek() {
				case sockUnread:
					c.frame.stray = true
				case sockClosed:
					c.gone = true
				}
			}
		}
		c.begun, c.endsAt = true, c.frame.ends
	}
	switch {
	case c.frame.stray:
		return 0, errOutOfStepConn
	case c.gone:
		return 0, errServerClosedConn
	}
	c.lone, c.m, c.valueReply = loneNone, 0, false
	c.frame.ask(p)
	if !c.request && oneLineRequest(p) {
		c.lone = loneReading // a request in one write, its reply not started
	}
	n, err := c.Conn.Write(p)
	c.request = true
	if err != nil && (timeout(err) || !c.read && dropped(err)) {
		c.h.failed(err)
	}
	return n, err
}

// oneLineRequest reports whether p is a whole request of one line, of one
// key, whose whole reply is one line when it is an error, as gomemcache
// writes each in one write: a get of one key ("get <key>\r\n" or "gets
// <key>\r\n": Get), "delete <key>\r\n" (Delete), "incr <key>
// <delta>\r\n" or "decr <key> <delta>\r\n" (Incr), and "touch <key>
// <exptime>\r\n". Nothing else is one: a storage command's data block, a
// multi-get's several replies, and a noreply request's missing one.
func oneLineRequest(p []byte) bool {
	// The first '\n' ends p, wherever a storage command's data block has
	// its first: found within the command line.
	if i := bytes.IndexByte(p, '\n'); i < 1 || i != len(p)-1 || p[i-1] != '\r' {
		return false
	}
	line := p[:len(p)-2]
	if bytes.IndexByte(line, '\r') >= 0 {
		return false
	}
	cmd, args, _ := bytes.Cut(line, []byte(" "))
	key, arg, two := bytes.Cut(args, []byte(" "))
	if len(key) == 0 || bytes.IndexByte(arg, ' ') >= 0 {
		return false
	}
	switch string(cmd) {
	case "get", "gets", "delete":
		return !two
	case "incr", "decr":
		return two && digits(arg)
	case "touch":
		return two && digits(bytes.TrimPrefix(arg, []byte("-")))
	}
	return false
}

// digits reports whether b is one or more ASCII digits.
func digits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// follow follows data, read after a one-line request was written, for
// kept: the reply is an error line alone when it starts with
// "SERVER_ERROR" and its first '\n' is the last byte read. Anything else,
// or any byte read after that, leaves the connection to be closed.
func (c *healthConn) follow(data []byte) {
	switch c.lone {
	case loneNone:
		return
	case loneClean:
		c.lone = loneNone
		return
	}
	for ; c.m < len(serverError) && len(data) > 0; c.m, data = c.m+1, data[1:] {
		if data[0] != serverError[c.m] {
			c.lone = loneNone
			return
		}
	}
	switch i := bytes.IndexByte(data, '\n'); {
	case i < 0:
	case i == len(data)-1:
		c.lone = loneClean
	default:
		c.lone = loneNone
	}
}

// kept reports whether the connection may be used again once gomemcache
// closes it after an error reply to a one-line request (see
// oneLineRequest): its reply was one "SERVER_ERROR ...\r\n" line, which is
// the whole reply to such a request, as memcached sends it (an error
// replaces a get's values, which it drops, and END), and memcached's proxy
// mode, mcrouter and twemproxy for the key of an upstream that is down,
// and nothing was read after it, so that gomemcache's buffer held nothing
// more. What a proxy sends late, after the error line (mcrouter: a get's
// END), the resync reads before the connection is used again (see
// connSet.spare). The reply to a get of several keys is not judged: a
// proxy may send the other keys' values, and END, after one key's error.
func (c *healthConn) kept() bool { return c.lone == loneClean }
