package testutil

import (
	"bytes"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP proxy on loopback in front of a server, for tests of what
// a client does when the network or the server misbehaves: it counts the
// connections it accepts, can hold or answer in the server's place what
// the client sends (ProxyOptions.Request), drop a connection in place of a
// reply (DropReply) or drop every connection (DropAll). Without a target
// it is a server that reads what it is sent and never answers (a hung
// server, or a network that loses every reply). It is closed, with every
// connection, at the test's end. It is safe for concurrent use.
type Proxy struct {
	ln       net.Listener
	target   string
	request  func(chunk []byte) []byte
	accepted atomic.Int32
	drop     atomic.Int32 // replies left before the dropped one; 0: none

	mu    sync.Mutex
	conns []net.Conn
}

// ProxyOptions is how a Proxy treats what passes through it. The zero
// value forwards everything.
type ProxyOptions struct {
	// Request sees each chunk the client sends, as one read returns it (a
	// command a client sends alone, waiting for its reply, arrives in one
	// read on loopback), before it is forwarded. It returns what to answer
	// the client in place of forwarding the chunk, or nil to forward it.
	// It may block, to hold the chunk (a server that stalls on it): the
	// connection's requests wait meanwhile. Nil: forward everything.
	Request func(chunk []byte) (answer []byte)
}

// StartProxy starts a Proxy in front of target (host:port), or a server
// that never answers when target is "".
func StartProxy(t testing.TB, target string, opts ProxyOptions) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, request: opts.Request}
	t.Cleanup(func() { _ = ln.Close(); p.DropAll() })
	go p.serve()
	return p
}

// Addr is the address the proxy listens on.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Accepted is the number of connections the proxy accepted so far.
func (p *Proxy) Accepted() int { return int(p.accepted.Load()) }

// DropReply makes the proxy forward n-1 more replies (chunks the server
// sends, on any connection) and drop the connection in place of the n-th:
// the command reached the server, its reply was lost on the way, as with
// a connection reset or a reply later than a client's read timeout.
func (p *Proxy) DropReply(n int32) { p.drop.Store(n) }

// Refuse closes the proxy's listener: the connections it accepted go on,
// and new ones are refused (a server restarting). The port stays free,
// for no other test listens on a port the system chose for this one.
func (p *Proxy) Refuse() { _ = p.ln.Close() }

// RestartingProxy is a Proxy in front of a server that goes down once it
// ran a command (Arm): the command's reply is lost with its connection, and
// new connections are refused, as by a server restarting.
type RestartingProxy struct {
	*Proxy
	armed atomic.Bool
}

// StartRestartingProxy starts a RestartingProxy in front of target whose
// Arm takes effect on the next request chunk that contains marker.
func StartRestartingProxy(t testing.TB, target string, marker []byte) *RestartingProxy {
	t.Helper()
	r := &RestartingProxy{}
	r.Proxy = StartProxy(t, target, ProxyOptions{Request: func(chunk []byte) []byte {
		if bytes.Contains(chunk, marker) && r.armed.CompareAndSwap(true, false) {
			r.DropReply(1) // its reply is lost with its connection
			r.Refuse()     // the retry's connection is refused
		}
		return nil
	}})
	return r
}

// Arm makes the next request that contains the marker go through to the
// server, and the server go down then.
func (r *RestartingProxy) Arm() { r.armed.Store(true) }

// Armed reports whether Arm waits for its request still.
func (r *RestartingProxy) Armed() bool { return r.armed.Load() }

// DropAll closes every connection the proxy has accepted, and its own to
// the server: a restart, or a network that fails. New connections are
// accepted as before.
func (p *Proxy) DropAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// keep records c for DropAll.
func (p *Proxy) keep(c ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.conns = append(p.conns, c...)
}

// serve accepts connections until the listener is closed. A connection
// is counted once DropAll would close it.
func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if p.target == "" {
			p.keep(c)
			p.accepted.Add(1)
			go func() { _, _ = io.Copy(io.Discard, c) }()
			continue
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			p.accepted.Add(1)
			continue
		}
		p.keep(c, s)
		p.accepted.Add(1)
		go p.requests(c, s)
		go p.replies(c, s)
	}
}

// requests forwards what the client c sends to the server s, through
// the Request option.
func (p *Proxy) requests(c, s net.Conn) {
	defer func() { _ = s.Close() }()
	buf := make([]byte, 256<<10)
	for {
		n, err := c.Read(buf)
		if err != nil {
			return
		}
		if p.request != nil {
			if answer := p.request(buf[:n]); answer != nil {
				if _, err := c.Write(answer); err != nil {
					return
				}
				continue
			}
		}
		if _, err := s.Write(buf[:n]); err != nil {
			return
		}
	}
}

// replies forwards what the server s sends to the client c, until the
// reply DropReply drops.
func (p *Proxy) replies(c, s net.Conn) {
	defer func() { _ = c.Close() }()
	buf := make([]byte, 256<<10)
	for {
		n, err := s.Read(buf)
		if err != nil {
			return
		}
		if p.drop.Load() > 0 && p.drop.Add(-1) == 0 {
			_ = s.Close()
			return
		}
		if _, err := c.Write(buf[:n]); err != nil {
			return
		}
	}
}
