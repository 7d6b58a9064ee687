package redisstore_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// startSilentServer listens on loopback, accepts connections, reads what
// they send and never answers: a server that hangs on every command. The
// test's end closes the listener and every connection.
func startSilentServer(t *testing.T) string {
	t.Helper()
	return testutil.StartProxy(t, "", testutil.ProxyOptions{}).Addr()
}

// inFlight is a go-redis hook that counts the commands running on a
// client, and closes configStarted when the first CONFIG command starts.
type inFlight struct {
	n             atomic.Int32
	once          sync.Once
	configStarted chan struct{}
}

func (h *inFlight) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *inFlight) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		defer h.n.Add(-1)
		if strings.EqualFold(cmd.Name(), "config") {
			h.once.Do(func() { close(h.configStarted) })
		}
		return next(ctx, cmd)
	}
}

func (h *inFlight) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		defer h.n.Add(-1)
		return next(ctx, cmds)
	}
}

// The maxmemory read that a large write starts runs on a goroutine of the
// Store's, with a context of its own: a Close just after that write used
// to return while the read still waited on the client (up to 2 s for a
// server that does not answer), so a program that closed its own client
// next, or exited, had it used after Close. Close now cancels the read and
// waits for it: once Close returns, no command of the Store runs on the
// client.
func TestMaxmemoryReadEndsWithClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(addr string) (*redisstore.Store, *redis.Client)
	}{
		{"Options.Client", func(addr string) (*redisstore.Store, *redis.Client) {
			c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: time.Minute})
			t.Cleanup(func() { _ = c.Close() })
			b, err := redisstore.New(redisstore.Options{Client: c})
			require.NoError(t, err)
			return b, c
		}},
		{"URL", func(addr string) (*redisstore.Store, *redis.Client) {
			b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr, ReadTimeout: time.Minute})
			require.NoError(t, err)
			return b, b.Client().(*redis.Client)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, c := tc.store(startSilentServer(t))
			h := &inFlight{configStarted: make(chan struct{})}
			c.AddHook(h)

			ctx, cancel := context.WithCancel(context.Background())
			setDone := make(chan error, 1)
			go func() { setDone <- b.Set(ctx, "k", bytes.Repeat([]byte("v"), 128<<10), time.Minute) }()
			<-h.configStarted // the read of maxmemory waits for the server
			cancel()          // the writer leaves, the read goes on
			require.Error(t, <-setDone)

			require.NoError(t, b.Close())
			assert.Zero(t, h.n.Load(), "a command of the Store still runs on the client after Close returned")
		})
	}
}
