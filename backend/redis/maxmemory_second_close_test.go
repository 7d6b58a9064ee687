package redisstore_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
)

// slowCancel is a hook whose CONFIG command takes a little while to end
// once cancelled (a tracing or metrics hook flushing on the way out).
type slowCancel struct{ inFlight }

func (h *slowCancel) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	inner := h.inFlight.ProcessHook(next)
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := inner(ctx, cmd)
		if cmd.Name() == "config" {
			h.n.Add(1)
			time.Sleep(300 * time.Millisecond)
			h.n.Add(-1)
		}
		return err
	}
}

// Close's doc: "Once it returns, the Store sends nothing more by itself"
// and "Close is idempotent". A second Close while the first one waits for
// the maxmemory read returned at once (closed.Swap), while the read still
// runs on the client: a program whose shutdown path calls Close twice
// (defer plus a signal handler) and then closes its own client has the
// Store use that client after a Close returned.
func TestSecondCloseWaitsForTheMaxmemoryRead(t *testing.T) {
	addr := startSilentServer(t)
	c := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true, ReadTimeout: time.Minute})
	t.Cleanup(func() { _ = c.Close() })
	b, err := redisstore.New(redisstore.Options{Client: c})
	require.NoError(t, err)
	h := &slowCancel{inFlight{configStarted: make(chan struct{})}}
	c.AddHook(h)

	ctx, cancel := context.WithCancel(context.Background())
	setDone := make(chan error, 1)
	go func() { setDone <- b.Set(ctx, "k", bytes.Repeat([]byte("v"), 128<<10), time.Minute) }()
	<-h.configStarted
	cancel()
	<-setDone

	first := make(chan error, 1)
	go func() { first <- b.Close() }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, b.Close())
	assert.Zero(t, h.n.Load(), "the second Close returned while the Store's maxmemory read still runs on the client")
	require.NoError(t, <-first)
	assert.Zero(t, h.n.Load())
}
