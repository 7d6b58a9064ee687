package redisstore

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// configHang is a go-redis hook that holds every CONFIG command until
// release is closed, whatever its context says: a user's hook (a rate
// limiter, a circuit breaker) that ignores cancellation. started is
// closed when the first one is held.
type configHang struct {
	started, release chan struct{}
}

func (h *configHang) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *configHang) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if strings.EqualFold(cmd.Name(), "config") {
			select {
			case <-h.started:
			default:
				close(h.started)
			}
			<-h.release
		}
		return next(ctx, cmd)
	}
}

func (h *configHang) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestCloseDoesNotWaitForeverForAMaxmemoryReadThatIgnoresCancellation:
// Close cancelled the maxmemory read and waited for it with no bound of
// its own, so that a hook of a user's client that ignores cancellation
// hung Close (and a program's shutdown) for as long as the hook. Close
// now waits for the read no longer than 2 s past the read's own deadline
// (maxmemFor, shortened here), and returns an error that says so.
func TestCloseDoesNotWaitForeverForAMaxmemoryReadThatIgnoresCancellation(t *testing.T) {
	t.Parallel()
	h := &configHang{started: make(chan struct{}), release: make(chan struct{})}
	t.Cleanup(func() { close(h.release) })
	c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", ContextTimeoutEnabled: true, MaxRetries: -1})
	t.Cleanup(func() { _ = c.Close() })
	c.AddHook(h)
	b, err := New(Options{Client: c})
	require.NoError(t, err)
	b.maxmemFor = 100 * time.Millisecond

	ctx, cancel := context.WithCancel(context.Background())
	setDone := make(chan error, 1)
	go func() { setDone <- b.Set(ctx, "k", bytes.Repeat([]byte("v"), 128<<10), time.Minute) }()
	<-h.started // the maxmemory read is held by the hook
	cancel()
	<-setDone

	// Close ends on its own bound, maxmemFor past the read's deadline
	// (200ms at most); the wrong wait, for the hook, is forever. The
	// guard is a minute, so that a loaded machine cannot trip it; the
	// error names the bound that ended the wait.
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	select {
	case err := <-closed:
		assert.ErrorContains(t, err, "did not end within 100ms of its deadline", "Close says the read was left running")
	case <-time.After(time.Minute):
		t.Fatal("Close still waits for a maxmemory read whose client ignores its cancellation")
	}
	assert.ErrorContains(t, b.Close(), "did not end", "a second Close waits as long, no longer")
}
