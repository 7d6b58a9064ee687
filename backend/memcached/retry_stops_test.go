package memcached_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a Set or Delete whose connection was dropped, which marked
// its server down, was tried once more and refused as marked down, and its
// error repeated the package's prefix: "memcached: set <addr>: EOF;
// retried: memcached: server <addr> marked down after ...: backend: server
// marked down". It now says each thing once: what the try that may have
// landed failed with, and that the server is marked down since. It still
// wraps no backend.ErrServerDown (a refusal says nothing was sent; the
// first try's write may have been made).
func TestRetryRefusedAsServerDownSaysSoOnce(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ops := map[string]func(s *memcached.Store, k string) error{
		"Set":    func(s *memcached.Store, k string) error { return s.Set(bg, k, []byte("v"), time.Minute) },
		"Delete": func(s *memcached.Store, k string) error { return s.Delete(bg, k) },
	}
	for name, call := range ops {
		t.Run(name, func(t *testing.T) {
			addr, _ := listenServing(t, func(c net.Conn) { c.Close() })
			ns := namespaceOn(0) // the generation on the live server
			s := open(t, memcached.Options{Servers: []string{live, addr}, Namespace: ns})
			require.NoError(t, s.Clear(bg)) // a generation, on the live server
			retried := 0
			for _, k := range keysOn(t, live, ns, 1, 6) {
				err := call(s, k)
				require.Error(t, err)
				assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
				if !errors.Is(err, backend.ErrServerDown) && strings.Contains(err.Error(), "marked down") {
					retried++
					t.Log(err)
					assert.NotContains(t, err.Error(), backend.ErrServerDown.Error(), "the text of a sentinel the error does not wrap: %v", err)
				}
			}
			assert.Equal(t, 1, retried, "calls whose retry was refused as the server was marked down")
		})
	}
}
