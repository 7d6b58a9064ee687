package memcached

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"time"
)

// Connections kept after an error reply. gomemcache closes a connection
// after any reply it does not expect, "SERVER_ERROR ..." among them, so that
// each get a proxy refuses (mcrouter, twemproxy, memcached's proxy mode,
// for the keys of an upstream that is down) cost a TCP connection: a dial,
// which counts against the server's health when it fails, and a socket in
// TIME_WAIT for a minute after (a few hundred refused gets a second
// exhaust a client's ephemeral ports); the same for a delete, incr or
// decr of such a key. A connection whose last reply was the error line
// alone of a one-line request (see healthConn.kept) is at the
// end of a reply as far as gomemcache read: its Close, from gomemcache,
// parks it in the connSet instead, and the next dial to its server takes
// it back once resync has brought it back in step with its replies. At
// most Options.MaxIdleConns are parked per server, besides gomemcache's
// own idle connections; Close closes them with the others.
//
// Silence after the error line proves nothing: a proxy may send more of
// that reply later, in a write of its own (mcrouter's ascii server writes
// a get's per-key error, then the multi-op "END"), and a command sent
// before it arrived would read it as its own reply, and leave its own for
// the next command, which reads another key's value as its own.

// park keeps tc, which gomemcache is closing, for a later dial to its
// server, if its last reply allows (see healthConn.kept), and reports
// whether it did.
func (cs *connSet) park(tc *trackedConn) bool {
	hc, ok := tc.Conn.(*healthConn)
	if !ok || !hc.kept() {
		return false
	}
	hc.lone = loneNone
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed || len(cs.spares[tc.addr]) >= cs.maxSpares {
		return false
	}
	if cs.spares == nil {
		cs.spares = make(map[string][]*trackedConn)
	}
	cs.spares[tc.addr] = append(cs.spares[tc.addr], tc)
	return true
}

// spare returns a connection parked for addr that resync brought back in
// step, or nil; it closes those it could not. The resyncs share one
// deadline, Options.Timeout from now or ctx's deadline if sooner: a
// server that does not answer costs the call Timeout once, not once per
// parked connection, and the dial after it, whose ctx expired, fails as a
// timeout, which counts against the server. A resync that times out
// closes its own connection only, and ends the search: the others, not
// tried, stay parked for the next dial (with the deadline past, each
// would fail unanswered, and be closed for a silence that was not its own);
// so do all of them when ctx's deadline has passed already.
func (cs *connSet) spare(ctx context.Context, addr string) *trackedConn {
	deadline := time.Now().Add(cs.timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	for {
		if !time.Now().Before(deadline) {
			return nil // a resync now would fail unanswered
		}
		cs.mu.Lock()
		list := cs.spares[addr]
		if len(list) == 0 {
			cs.mu.Unlock()
			return nil
		}
		tc := list[len(list)-1]
		list[len(list)-1] = nil
		cs.spares[addr] = list[:len(list)-1]
		cs.mu.Unlock()
		err := resync(tc.Conn.(*healthConn).Conn, deadline)
		if err == nil {
			return tc // gomemcache sets its deadline
		}
		cs.remove(tc)
		_ = tc.Conn.Close()
		if timeout(err) {
			return nil
		}
	}
}

// The limits of resync's read: the reply to version, and at most
// resyncLines-1 END lines before it, in at most resyncMax bytes.
const (
	resyncLines = 4
	resyncMax   = 256
)

// errOutOfStep is resync's error for a connection whose replies it could
// not bring back in step with its commands.
var errOutOfStep = errors.New("memcached: a parked connection is out of step with its replies")

// resync writes "version\r\n" on c, the raw connection under a healthConn
// (its reply is no answer of the server's: a proxy answers version
// itself), and reads up to the end of the reply's "VERSION ..." line,
// before deadline: every reply to a command sent before it has come. Only
// END lines may come before it, the rest of a one-key get's reply that a
// proxy sent after its error line (an END is no reply to a delete, incr or
// decr, and is skipped all the same: the commands before version are
// answered, whatever it was); anything else (a value, an error, the
// server's close), more than resyncLines lines or resyncMax bytes, or
// bytes after the VERSION line, leaves c out of step, and returns an
// error: the caller closes c. It reads no byte past the VERSION line's
// end, which is the last c received: gomemcache's reader starts after it.
// Bytes that come after it in a later write answer no command (the server
// answers in order, and version was the last): a server that sends them
// puts any connection out of step, pooled or parked, and waiting for them
// would cost every reuse a wait that proves nothing. A get catches it (see
// Store.getItem); a delete or an incr cannot.
//
// memcached, mcrouter ("VERSION mcrouter ...") and twemproxy from 0.5.0
// answer version. A proxy that answers it otherwise, or closes the
// connection (older twemproxy, on a command it does not know), has each
// parked connection closed, as gomemcache closed it: a dial per refused
// get, as before parking.
func resync(c net.Conn, deadline time.Time) error {
	if err := c.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := io.WriteString(c, "version\r\n"); err != nil {
		return err
	}
	return readVersion(c)
}

// readVersion is resync's read of the reply to its version command, on c,
// under c's read deadline (see resync), which takes what arrived before a
// deadline that passed (see readArrived): a parked connection closed for a
// timeout it did not have would leave the dial after it an expired context,
// and a timeout that counts against the server.
func readVersion(c net.Conn) error {
	var buf [resyncMax]byte
	n, start, lines := 0, 0, 0
	for n < len(buf) {
		m, err := readArrived(c, buf[n:])
		n += m
		for {
			i := bytes.IndexByte(buf[start:n], '\n')
			if i < 0 {
				break
			}
			line := buf[start : start+i+1]
			start += i + 1
			if lines++; lines > resyncLines {
				return errOutOfStep
			}
			switch {
			case bytes.HasPrefix(line, []byte("VERSION ")):
				if start != n {
					return errOutOfStep // a reply nobody asked for
				}
				return nil
			case !bytes.Equal(line, []byte("END\r\n")):
				return errOutOfStep
			}
		}
		if err != nil {
			return err
		}
	}
	return errOutOfStep
}
