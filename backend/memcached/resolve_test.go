package memcached

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/go-caching/caching/internal/testutil"
)

// A memcached host name that does not resolve right now (DNS not yet
// ready at start-up, a Kubernetes Service created after the app) must not
// stop the Store from being made: the name is resolved when a connection
// is dialled, and calls fail open meanwhile (an error, no hang).
func TestUnresolvedHostFailsOpenNotAtNew(t *testing.T) {
	s, err := New(Options{Servers: []string{"memcached.not-yet-resolvable.invalid:11211"}})
	if err != nil {
		t.Fatalf("New with a host that does not resolve yet: %v", err)
	}
	defer s.Close()
	testutil.Returns(t, "Get of an unresolvable server", 10*time.Second, func() {
		if _, err := s.Get(context.Background(), "k"); err == nil {
			t.Error("Get succeeded")
		}
	})
	testutil.Returns(t, "Set of an unresolvable server", 10*time.Second, func() {
		if err := s.Set(context.Background(), "k", []byte("v"), 0); err == nil {
			t.Error("Set succeeded")
		}
	})
}

// The Store dials servers by the names Options.Servers gives, so that the
// dialer resolves them at each new connection (a node whose address
// changes is reached at its new one), rather than at addresses New
// resolved once.
func TestDialsServersByName(t *testing.T) {
	s, err := New(Options{Servers: []string{"cache-0.memcached.invalid:11211", "cache-1.memcached.invalid:11211"}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	dialled := map[string]bool{}
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		mu.Lock()
		dialled[network+" "+addr] = true
		mu.Unlock()
		return nil, errors.New("refused by the test")
	}
	if _, err := s.Get(context.Background(), "k"); err == nil {
		t.Fatal("Get succeeded")
	}
	mu.Lock()
	defer mu.Unlock()
	if len(dialled) == 0 {
		t.Fatal("Get dialled nothing")
	}
	for a := range dialled {
		if a != "tcp cache-0.memcached.invalid:11211" && a != "tcp cache-1.memcached.invalid:11211" {
			t.Errorf("dialled %q; want a server's name as given", a)
		}
	}
}
