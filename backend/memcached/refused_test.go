package memcached

import (
	"context"
	"net"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/internal/testutil"
)

// countDials makes s's client count its dial attempts.
func countDials(s *Store) *atomic.Int64 {
	var n atomic.Int64
	s.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		n.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return &n
}

func refusedStore(t testing.TB) *Store {
	s, err := New(Options{Servers: []string{testutil.RefusedAddr(t)}})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

// Issue 12.9, the memcached half: against a stopped server each call makes
// exactly one dial attempt, and gomemcache has no retry to sleep before (a
// refused connection is not one of the stale-connection errors the Store
// retries). This counts the dials rather than timing them.
func TestRefusedConnectionCostsOneDial(t *testing.T) {
	bg := context.Background()
	ops := map[string]func(s *Store) error{
		"Get":     func(s *Store) error { _, err := s.Get(bg, "k"); return err },
		"GetMany": func(s *Store) error { _, err := s.GetMany(bg, []string{"k", "j"}); return err },
		"Set":     func(s *Store) error { return s.Set(bg, "k", []byte("v"), 0) },
		"Add":     func(s *Store) error { _, err := s.Add(bg, "k", []byte("v"), 0); return err },
		"Delete":  func(s *Store) error { return s.Delete(bg, "k", "j") },
		"Incr":    func(s *Store) error { _, err := s.Incr(bg, "n", 1); return err },
		"Clear":   func(s *Store) error { return s.Clear(bg) },
	}
	for name, op := range ops {
		t.Run(name, func(t *testing.T) {
			s := refusedStore(t)
			n := countDials(s)
			err := op(s)
			require.Error(t, err)
			assert.NotErrorIs(t, err, backend.ErrNotFound)
			assert.Equal(t, int64(1), n.Load(), "dial attempts")
		})
	}
}

// BenchmarkGetRefused measures one Get against a loopback port where nothing
// listens: one refused dial, no sleep.
func BenchmarkGetRefused(b *testing.B) {
	s := refusedStore(b)
	n := countDials(s)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Get(ctx, "k"); err == nil {
			b.Fatal("a Get against a refused port succeeded")
		}
	}
	b.ReportMetric(float64(n.Load())/float64(b.N), "dials/op")
}
