package redisstore_test

import (
	"bytes"
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// delegatingClient is a program's client type that delegates to a
// go-redis client without embedding it (an interface field): the Store
// cannot see its options, and takes it as it is.
type delegatingClient struct{ redis.UniversalClient }

// TestOpaqueClientRetriesWritesAsConfigured: through a client whose
// type shows no go-redis options, a Set or a Delete whose reply was lost
// with its connection was retried by the client it delegates to (its
// MaxRetries, 3 by default) until 8b0e7f6; the Store then sent them
// wrapped in noRetry, which stopped those retries, and made none itself
// (it knows no policy of the client's): the call failed with the lost
// connection's error. It is sent as it was, and the client's retry on a
// new connection lands it.
func TestOpaqueClientRetriesWritesAsConfigured(t *testing.T) {
	addr := testutil.RedisAddr(t)
	bg := context.Background()
	for name, call := range map[string]func(b *redisstore.Store) error{
		"set":    func(b *redisstore.Store) error { return b.Set(bg, "lost", []byte("x"), time.Minute) },
		"delete": func(b *redisstore.Store) error { return b.Delete(bg, "lost") },
		"setmany": func(b *redisstore.Store) error {
			return b.SetMany(bg, []backend.Item{{Key: "lost", Value: []byte("x"), TTL: time.Minute}, {Key: "other", Value: []byte("x"), TTL: time.Minute}})
		},
		"clear": func(b *redisstore.Store) error { return b.Clear(bg) },
	} {
		t.Run(name, func(t *testing.T) {
			prefix := uniquePrefix(t)
			var armed atomic.Bool
			var p *testutil.Proxy
			p = testutil.StartProxy(t, addr, testutil.ProxyOptions{Request: func(chunk []byte) []byte {
				if bytes.Contains(chunk, []byte(prefix+"lost")) && armed.CompareAndSwap(true, false) {
					p.DropReply(1)
				}
				return nil
			}})
			c := redis.NewClient(&redis.Options{Addr: p.Addr(), ContextTimeoutEnabled: true})
			t.Cleanup(func() { _ = c.Close() })
			b := redisstore.Must(redisstore.Options{Client: delegatingClient{c}, Prefix: prefix})
			t.Cleanup(func() { _ = b.Close() })
			require.NoError(t, b.Set(bg, "lost", []byte("v"), time.Minute)) // a pooled connection, and a key to clear
			armed.Store(true)
			assert.NoError(t, call(b), "the client retried the lost try")
			assert.False(t, armed.Load(), "the call reached the proxy")
		})
	}
}
