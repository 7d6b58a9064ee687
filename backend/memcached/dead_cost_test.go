package memcached

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// hungAddr returns the address of a server that hangs: it accepts
// connections and never answers. Its connections are closed with the test.
func hungAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			_ = c.Close()
		}
	})
	return ln.Addr().String()
}

// A server stopped (refusing connections) or hung (accepting them, never
// answering) costs each Set, Delete, Add and Get of its keys one dial
// (and, hung, one Timeout), until it is marked down after serverDownAfter
// such calls; then none: the calls are refused at once, with
// backend.ErrServerDown. The retries of set and delete after a dropped
// pooled connection (see retried) must not stack on a refusal or a
// timeout: neither is tried again. The Redis Store's own retry once
// stacked on its client's, a dead server costing (retries+1)² dials.
func TestDeadOrHungServerCostsOneDialPerCall(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ctx := context.Background()
	ops := []struct {
		name string
		call func(s *Store, k string) error
	}{
		{"Set", func(s *Store, k string) error { return s.Set(ctx, k, []byte("v"), time.Minute) }},
		{"Delete", func(s *Store, k string) error { return s.Delete(ctx, k) }},
		{"Add", func(s *Store, k string) error { _, err := s.Add(ctx, k, []byte("v"), time.Minute); return err }},
		{"Get", func(s *Store, k string) error { _, err := s.Get(ctx, k); return err }},
	}
	for _, server := range []string{"stopped", "hung"} {
		for _, op := range ops {
			t.Run(server+"/"+op.name, func(t *testing.T) {
				addr := deadAddr(t)
				if server == "hung" {
					addr = hungAddr(t)
				}
				// Timeout bounds each hung call; the counts do not
				// depend on it.
				s, err := New(Options{Servers: []string{live, addr}, Namespace: namespaceOn("deadcost", 0, 2), Timeout: 300 * time.Millisecond})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				var dials atomic.Int64
				dial := s.dial
				s.dial = func(ctx context.Context, network, a string) (net.Conn, error) {
					if a == addr {
						dials.Add(1)
					}
					return dial(ctx, network, a)
				}
				if _, err := s.prefix(context.Background()); err != nil { // on the live server
					t.Fatal(err)
				}
				k := ""
				for i := 0; k == ""; i++ {
					if mk, _ := s.key(context.Background(), fmt.Sprint("k", i)); s.servers.of(mk).addr == addr {
						k = fmt.Sprint("k", i)
					}
				}
				for i := range serverDownAfter + 2 {
					before := dials.Load()
					err := op.call(s, k)
					if err == nil || errors.Is(err, backend.ErrNotFound) {
						t.Fatalf("call %d: %v; want a failure", i, err)
					}
					want, down := int64(1), false
					if i >= serverDownAfter {
						want, down = 0, true
					}
					if n := dials.Load() - before; n != want {
						t.Errorf("call %d: %d dials of the %s server; want %d (%v)", i, n, server, want, err)
					}
					if errors.Is(err, backend.ErrServerDown) != down {
						t.Errorf("call %d: %v; want wrapping backend.ErrServerDown: %v", i, err, down)
					}
				}
			})
		}
	}
}
