package redisstore_test

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// stall holds every INFO sent through the client it is added to, while
// armed, until the call's context ends, counting those in flight.
type stall struct {
	armed    atomic.Bool
	inflight atomic.Int64
	entered  chan struct{}
}

// wait holds one call until ctx ends.
func (s *stall) wait(ctx context.Context) {
	s.inflight.Add(1)
	defer s.inflight.Add(-1)
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-ctx.Done()
}

func (s *stall) DialHook(next redis.DialHook) redis.DialHook { return next }

func (s *stall) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (s *stall) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if s.armed.Load() && cmd.Name() == "info" {
			s.wait(ctx)
			return ctx.Err()
		}
		return next(ctx, cmd)
	}
}

// TestWatchCloseWaitsForTheFailoverCheck: the goroutine that checks, every
// second, where a Sentinel failover client's master is was not waited for:
// Close returned while it was still asking (dialling through Sentinel, up
// to the dial timeout), and it went on after the watch was closed. The
// client here is made as go-redis makes a failover client (the address
// "FailoverClient" and a Dialer that finds the master, here the test's
// server), so that the check can be held.
func TestWatchCloseWaitsForTheFailoverCheck(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	s := &stall{entered: make(chan struct{}, 1)}
	c := redis.NewClient(&redis.Options{ContextTimeoutEnabled: true, Addr: "FailoverClient", DialTimeout: time.Minute,
		Dialer: func(ctx context.Context, network, _ string) (net.Conn, error) {
			if s.armed.Load() {
				s.wait(ctx)
				return nil, ctx.Err()
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		}})
	c.AddHook(s)
	t.Cleanup(func() { _ = c.Close() })
	b := redisstore.Must(redisstore.Options{Client: c, Prefix: uniquePrefix(t)})
	ev := newEvents()
	w, err := b.WatchInvalidations(ev.changed, ev.state)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	ev.waitFor(t, "the watch", watching(true))

	s.armed.Store(true)
	select {
	case <-s.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the watch did not check where the master is")
	}
	require.NoError(t, w.Close())
	assert.Zero(t, s.inflight.Load(), "Close returned while the failover check was still running")
}
