package memcached

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"github.com/go-caching/caching/backend"
)

// serverList is the Store's memcache.ServerSelector. It picks a server for
// a key exactly as gomemcache's ServerList does (the CRC-32 of the key
// modulo the number of servers; the one server when there is one), so that
// keys land on the same servers as with other gomemcache clients, and as
// before it, but keeps the servers' names: ServerList resolves them once,
// when it is set, so that a name that does not resolve yet (DNS not ready
// at start-up) fails New, and a server whose address changes is dialled at
// its old one for the Store's life. The addresses it returns carry the
// names, and the Store's dialer resolves them at each new connection.
//
// It also keeps each server's health (see serverHealth): PickServer refuses
// a key whose server is marked down, at once, and the Store's dialer finds
// a server's health by its address (byAddr) to report its connections'
// outcomes.
type serverList struct {
	addrs  []net.Addr               // never empty; fixed once made
	health []*serverHealth          // health[i] is addrs[i]'s; one per distinct address
	byAddr map[string]*serverHealth // by the address as String gives it
	// servers is the number of distinct servers, down the number marked
	// down now.
	servers int
	down    atomic.Int32
	// timeouts counts the failures by a timeout of every server, so that a
	// GetMany can tell the servers that timed out since it began (see
	// serverHealth.timedOut) at the cost of one atomic load.
	timeouts atomic.Uint64
	// losses counts the connections every server lost (see
	// serverHealth.lose), so that a GetMany can tell the servers that
	// failed its multi-get from those that answered it whole (see
	// answeredWhole) at the cost of one atomic load.
	losses atomic.Uint64
	// strays counts the replies of every server that named a key their
	// get did not ask for (see serverHealth.strayed), so that a failed
	// multi-get can tell the servers whose reply was out of step (see
	// Store.getMulti).
	strays atomic.Uint64
	// probe, set by New, sends a server marked down a get of its own
	// and reports whether it got a normal reply (see serverHealth.admit).
	probe func(h *serverHealth) error
	// outOfStepTries, set by New, is how many times Each calls f for a
	// server while it fails with a request unwritten (see unwritten and
	// Store.outOfStepTries); 0 is once.
	outOfStepTries int
	// capture, set by New for a moment, makes Each record the function it
	// is called with instead of calling it (see Store.flushOne).
	capture *func(net.Addr) error
	// now, nil but in tests, replaces time.Now for the servers' health
	// (see nanotime): a test steps the streaks' windows and the cool-downs
	// on a clock of its own, not the wall's.
	now func() time.Time
}

// nanotime is the health's clock (see serverHealth) in Unix nanoseconds:
// time.Now's, or the test's now.
func (l *serverList) nanotime() int64 {
	if l.now != nil {
		return l.now().UnixNano()
	}
	return time.Now().UnixNano()
}

var _ memcache.ServerSelector = (*serverList)(nil)

// serverAddr is a server as Options.Servers names it: "host:port" on tcp,
// or a Unix socket's path on unix.
type serverAddr struct {
	network, addr string
}

func (a *serverAddr) Network() string { return a.network }
func (a *serverAddr) String() string  { return a.addr }

// newServerList checks the syntax of servers, resolving nothing, and
// returns their list. A server with a '/' is a Unix socket's path, as for
// ServerList; any other must be host:port with a host and a numeric port.
// Errors wrap backend.ErrInvalidOption.
func newServerList(servers []string) (*serverList, error) {
	l := &serverList{addrs: make([]net.Addr, len(servers)), health: make([]*serverHealth, len(servers)),
		byAddr: make(map[string]*serverHealth, len(servers))}
	for i, s := range servers {
		if strings.Contains(s, "/") {
			l.addrs[i] = &serverAddr{network: "unix", addr: s}
		} else {
			if err := checkHostPort(s); err != nil {
				return nil, fmt.Errorf("memcached: Options.Servers[%d]: %w: %w", i, err, backend.ErrInvalidOption)
			}
			l.addrs[i] = &serverAddr{network: "tcp", addr: s}
		}
		h := l.byAddr[s]
		if h == nil {
			h = &serverHealth{addr: s, network: l.addrs[i].Network(), list: l}
			l.byAddr[s] = h
			l.servers++
		}
		l.health[i] = h
	}
	return l, nil
}

// checkHostPort reports what is wrong with s as host:port, if anything.
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	switch {
	case err != nil:
		return fmt.Errorf("%q is not host:port: %w", s, err)
	case host == "":
		return fmt.Errorf("%q has no host; want host:port", s)
	}
	if n, err := strconv.ParseUint(port, 10, 16); err == nil && n != 0 {
		return nil
	}
	// A service name ("memcache", as /etc/services lists it), which
	// gomemcache's ServerList accepted: looked up locally, no DNS.
	if _, err := strconv.Atoi(port); err != nil && port != "" {
		if n, err := net.LookupPort("tcp", port); err == nil && n > 0 {
			return nil
		}
	}
	return fmt.Errorf("%q has port %q; want a number from 1 to 65535 or a service name", s, port)
}

// keyBufs are the buffers PickServer hashes keys in, so that a pick
// allocates nothing (ServerList does the same).
var keyBufs = sync.Pool{New: func() any { return new([256]byte) }}

// PickServer returns the server for key: the CRC-32 (IEEE) of its first
// 256 bytes (all of a memcached key, at most 250) modulo the number of
// servers, as ServerList picks. A server marked down is not returned: the
// error of its refusal is (see serverHealth), unless its cool-down is over
// and the probe that this pick then makes finds it up (serverHealth.admit).
func (l *serverList) PickServer(key string) (net.Addr, error) {
	i := l.pick(key)
	if d := l.health[i].downUntil.Load(); d != 0 {
		if err := l.health[i].admit(d); err != nil {
			return nil, err
		}
	}
	return l.addrs[i], nil
}

// pick returns the index of key's server.
func (l *serverList) pick(key string) int {
	if len(l.addrs) == 1 {
		return 0
	}
	buf := keyBufs.Get().(*[256]byte)
	n := copy(buf[:], key)
	cs := crc32.ChecksumIEEE(buf[:n])
	keyBufs.Put(buf)
	return int(cs % uint32(len(l.addrs)))
}

// of returns the health of key's server.
func (l *serverList) of(key string) *serverHealth { return l.health[l.pick(key)] }

// Each calls f with each server, in order, and returns their errors
// joined. Unlike ServerList's, it does not stop at the first error:
// gomemcache's FlushAll and Ping call it, and a flush_all that stopped at a
// server down would flush none of the servers after it, leaving their
// entries readable. Each server's error names the server (gomemcache's do
// not all), without gomemcache's prefix (see unprefixed): the Store's
// error says "memcached: " once. A command that took a connection out of
// step with its replies, or one the server closed, from the pool (see
// unwritten: nothing was sent) is sent again, up to outOfStepTries times.
// Clear (Options.FlushOnClear) calls each instead, with its context.
func (l *serverList) Each(f func(net.Addr) error) error {
	if l.capture != nil {
		*l.capture = f
		return nil
	}
	return l.each(context.Background(), f)
}

// each is Each, whose command is not sent again once ctx is done (see
// stopped): gomemcache takes no context, and a try on a server that hangs
// waits Options.Timeout, for a caller gone. The other servers are still
// sent theirs, as after any server's failure.
func (l *serverList) each(ctx context.Context, f func(net.Addr) error) error {
	var errs []error
	for _, a := range l.addrs {
		err := f(a)
		for i := 1; i < l.outOfStepTries && unwritten(err) && !stopped(ctx, &err); i++ {
			err = f(a)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("server %s: %w", a, unprefixed(err)))
		}
	}
	return errors.Join(errs...)
}
