package memcached

import (
	"errors"
	"time"
)

// errCannotReadNow is readNow's error for a connection it cannot read
// without waiting.
var errCannotReadNow = errors.New("memcached: the connection cannot be read without waiting")

// Connections kept after an error reply. gomemcache closes a connection
// after any reply it does not expect, "SERVER_ERROR ..." among them, so that
// each get a proxy refuses (mcrouter, twemproxy, memcached's proxy mode,
// for the keys of an upstream that is down) cost a TCP connection: a dial,
// which counts against the server's health when it fails, and a socket in
// TIME_WAIT for a minute after (a few hundred refused gets a second
// exhaust a client's ephemeral ports). A connection whose last reply was
// the error line alone of a one-key get (see healthConn.kept) is at the
// end of a reply: its Close, from gomemcache, parks it in the connSet
// instead, and the next dial to its server takes it back, once a read that
// does not wait finds nothing arrived on it since (a reply's remains, or
// the server's close, close it for good). At most Options.MaxIdleConns are
// parked per server, besides gomemcache's own idle connections; Close
// closes them with the others.

// park keeps tc, which gomemcache is closing, for a later dial to its
// server, if its last reply allows (see healthConn.kept), and reports
// whether it did.
func (cs *connSet) park(tc *trackedConn) bool {
	hc, ok := tc.Conn.(*healthConn)
	if !ok || !hc.kept() || !canReadNow(hc.Conn) {
		return false
	}
	hc.get = getNone
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

// spare returns a connection parked for addr that nothing arrived on
// since, or nil; it closes those it finds something arrived on.
func (cs *connSet) spare(addr string) *trackedConn {
	for {
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
		var b [1]byte
		n, err := readNow(tc.Conn.(*healthConn).Conn, b[:], time.Time{})
		if n == 0 && err == nil {
			return tc // gomemcache sets its deadline
		}
		cs.remove(tc)
		_ = tc.Conn.Close()
	}
}
