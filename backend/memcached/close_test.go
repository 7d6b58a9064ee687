package memcached

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// proxy forwards TCP connections to a memcached server and counts those
// open, as the server sees them: a connection counts until the client
// closes it. While held, it forwards nothing from the server to the
// clients, so that the calls under way stay under way, and reports each
// connection that sends a request meanwhile on sent.
type proxy struct {
	addr     string
	target   string
	accepted atomic.Int64
	open     atomic.Int64
	sent     chan struct{}

	mu    sync.Mutex
	gate  chan struct{} // closed to release a hold; nil when not holding
	conns []net.Conn    // every connection, to close at the end
}

func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{addr: ln.Addr().String(), target: target, sent: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.release()
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.accepted.Add(1)
			p.open.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				p.open.Add(-1)
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			wg.Go(func() { p.serve(c, up) })
		}
	})
	return p
}

// serve forwards one connection until the client closes it (or the test
// ends).
func (p *proxy) serve(c, up net.Conn) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 64<<10)
		for {
			n, err := up.Read(buf)
			if n > 0 {
				if g := p.held(); g != nil {
					<-g
				}
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	var signalled chan struct{} // the hold this connection reported a request in
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if g := p.held(); g != nil && g != signalled {
				signalled = g
				p.sent <- struct{}{}
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	p.open.Add(-1)
	c.Close()
	up.Close()
	<-done
}

func (p *proxy) held() chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.gate
}

// hold stops forwarding answers to the clients until release.
func (p *proxy) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate == nil {
		p.gate = make(chan struct{})
	}
}

func (p *proxy) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

// waitOpen waits up to 5s for the number of open connections to be want,
// and returns it.
func (p *proxy) waitOpen(want int64) int64 {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := p.open.Load()
		if n == want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// proxiedStore returns a Store whose one server is a proxy in front of the
// first real one. Its Timeout is long, so that calls held by the proxy stay
// under way on a loaded machine until the test releases them.
func proxiedStore(t *testing.T) (*Store, *proxy) {
	addrs := testutil.MemcachedAddrs(t)
	p := startProxy(t, addrs[0])
	s, err := New(Options{Servers: []string{p.addr}, Namespace: namespaceFor("close"), Timeout: 10 * time.Second, GenerationTTL: time.Hour})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, p
}

func namespaceFor(prefix string) string {
	return prefix + time.Now().Format("150405.000000000")
}

// TestCloseClosesConnectionsInUse: Close closes every connection the Store
// opened, those in use by calls under way included. gomemcache's
// Client.Close closes only the idle ones; a connection in use was put back,
// after Close, into a fresh pool and never closed: each Store made and
// closed under load leaked sockets, on the server too. The calls under way
// fail with backend.ErrClosed.
func TestCloseClosesConnectionsInUse(t *testing.T) {
	bg := context.Background()
	s, p := proxiedStore(t)
	const calls = 3
	for i := range calls {
		require.NoError(t, s.Set(bg, "k", []byte{byte(i)}, time.Minute))
	}
	p.hold()
	errs := make(chan error, calls)
	for range calls {
		go func() {
			_, err := s.Get(bg, "k")
			errs <- err
		}()
	}
	for range calls {
		select {
		case <-p.sent:
		case <-time.After(10 * time.Second):
			t.Fatal("the calls did not send their requests")
		}
	}
	require.Equal(t, int64(calls), p.open.Load(), "connections open while the calls are under way")
	require.NoError(t, s.Close())
	p.release()
	for range calls {
		assert.ErrorIs(t, <-errs, backend.ErrClosed, "a call under way when Close ran")
	}
	assert.Equal(t, int64(0), p.waitOpen(0), "connections left open after Close")
}

// TestCloseRefusesDialsAfterClose: a call that got past the closed check
// before Close and dials after it does not open a connection that nothing
// would close.
func TestCloseRefusesDialsAfterClose(t *testing.T) {
	s, p := proxiedStore(t)
	require.NoError(t, s.Set(context.Background(), "k", []byte("v"), time.Minute))
	k, err := s.key(context.Background(), "k")
	require.NoError(t, err)
	require.NoError(t, s.Close())
	before := p.accepted.Load()
	// The client, as a call under way would use it: past Store's checks.
	_, err = s.client.Get(k)
	require.Error(t, err)
	assert.ErrorIs(t, err, backend.ErrClosed)
	assert.Equal(t, before, p.accepted.Load(), "connections opened after Close")
	assert.Equal(t, int64(0), p.waitOpen(0), "connections left open after Close")
}

// TestCloseClosesConnectionDialedDuringClose: a connection whose dial
// started before Close and completes after it is closed at once, and the
// call that dialed it fails with backend.ErrClosed.
func TestCloseClosesConnectionDialedDuringClose(t *testing.T) {
	s, p := proxiedStore(t)
	dialing := make(chan struct{})
	proceed := make(chan struct{})
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		close(dialing)
		<-proceed
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	errs := make(chan error, 1)
	go func() {
		_, err := s.Get(context.Background(), "k")
		errs <- err
	}()
	select {
	case <-dialing:
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not dial")
	}
	require.NoError(t, s.Close())
	close(proceed)
	assert.ErrorIs(t, <-errs, backend.ErrClosed)
	// The dial completed: wait for the proxy to accept it before waiting
	// for it to be closed.
	assert.Eventually(t, func() bool { return p.accepted.Load() == 1 }, 5*time.Second, 5*time.Millisecond, "connections the proxy accepted")
	assert.Equal(t, int64(0), p.waitOpen(0), "connections left open after Close")
}

// TestConnSetForgetsClosedConnections: a connection gomemcache closes (an
// error, or one more than MaxIdleConns) leaves the set, so that a long-lived
// Store does not hold on to every connection it ever opened.
func TestConnSetForgetsClosedConnections(t *testing.T) {
	addrs := testutil.MemcachedAddrs(t)
	s, err := New(Options{Servers: addrs[:1], Namespace: namespaceFor("forget"), MaxIdleConns: 1, Timeout: 5 * time.Second})
	require.NoError(t, err)
	defer s.Close()
	bg := context.Background()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				assert.NoError(t, s.Set(bg, "k", []byte("v"), time.Minute))
			}
		})
	}
	wg.Wait()
	s.conns.mu.Lock()
	n := len(s.conns.open)
	s.conns.mu.Unlock()
	assert.LessOrEqual(t, n, 1, "connections tracked, with one idle kept")
}
