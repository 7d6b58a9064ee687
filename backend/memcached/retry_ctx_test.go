package memcached_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// Regression: a Get, Set or Delete whose connection was dropped after its
// request was written is tried once more (see again: a server restarted
// closes the pooled connections), and was so after its caller's context
// had ended: the retry waited up to Options.Timeout more on a server that
// hangs, for a caller gone. A call now stops trying once its context is
// done, with an error wrapping the context's and the last try's.
func TestTriesStopOnceTheContextIsDone(t *testing.T) {
	live := testutil.MemcachedAddrs(t)[0]
	ops := map[string]func(ctx context.Context, s *memcached.Store, k string) error{
		"Get": func(ctx context.Context, s *memcached.Store, k string) error { _, err := s.Get(ctx, k); return err },
		"Set": func(ctx context.Context, s *memcached.Store, k string) error {
			return s.Set(ctx, k, []byte("v"), time.Minute)
		},
		"Delete": func(ctx context.Context, s *memcached.Store, k string) error { return s.Delete(ctx, k) },
	}
	for name, call := range ops {
		for _, end := range []string{"cancelled", "deadline"} {
			t.Run(name+"/"+end, func(t *testing.T) {
				ctx, cancel := context.WithCancel(bg)
				if end == "deadline" {
					ctx, cancel = context.WithTimeout(bg, 50*time.Millisecond)
				}
				defer cancel()
				// The server reads each request, and drops its
				// connection once the caller's context has ended.
				addr, accepts := listenServing(t, func(c net.Conn) {
					defer c.Close()
					if _, err := c.Read(make([]byte, 4096)); err != nil {
						return
					}
					if end == "cancelled" {
						cancel()
					}
					<-ctx.Done()
				})
				ns := namespaceOn(0) // the generation on the live server
				s := open(t, memcached.Options{Servers: []string{live, addr}, Namespace: ns, Timeout: 10 * time.Second})
				require.NoError(t, s.Clear(bg)) // a generation, on the live server
				keys := keysOn(t, live, ns, 1, 1)
				if accepts.Load() != 0 {
					t.Fatalf("the server of the keys was dialed before the call")
				}
				err := call(ctx, s, keys[0])
				require.Error(t, err)
				assert.Equal(t, int64(1), accepts.Load(), "tries of the call (connections): %v", err)
				assert.ErrorIs(t, err, ctx.Err())
				assert.Equal(t, 1, strings.Count(err.Error(), "memcached: "), "the error says where it comes from once: %v", err)
			})
		}
	}
}
