package caching

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sharedRemote is a remote whose Close leaves the shared store open, so
// that two Caches (two processes) can share one backend.
type sharedRemote struct{ *remote }

func (sharedRemote) Close() error { return nil }

// sharingProcesses returns a Cache a, whose backend r can be made to fail and
// which logs to logs, and a Cache b sharing a's store.
func sharingProcesses(t *testing.T) (a, b *Cache, r *remote, logs *bytes.Buffer) {
	shared := newSimple(t, nil)
	r = &remote{Backend: shared}
	logs = new(bytes.Buffer)
	a = Must(&Options{Backend: sharedRemote{r}, Logger: slog.New(slog.NewTextHandler(logs, nil)),
		Breaker: BreakerOptions{Threshold: 1 << 30}})
	b = Must(&Options{Backend: sharedRemote{&remote{Backend: shared}}})
	t.Cleanup(func() { a.Close(); b.Close() })
	return a, b, r, logs
}

// TestCloseMakesLastAttemptAtFailedInvalidations: Close dropped the
// invalidations waiting for their retry without an attempt or a word:
// after a backend blip and a deploy (Close), every other process sharing
// the backend served what they were meant to end for its whole TTL (for
// an entry cached Forever: for good). Close now tries them once more.
func TestCloseMakesLastAttemptAtFailedInvalidations(t *testing.T) {
	a, b, r, logs := sharingProcesses(t)
	ctx := context.Background()
	require.NoError(t, b.Set(ctx, "price", []byte("old"), time.Hour, Tags("product:1")))
	r.fail.Store(true)
	require.Error(t, a.InvalidateTags(ctx, "product:1"), "the backend blips: the invalidation fails")
	require.EqualValues(t, 1, a.Stats().PendingInvalidations, "and waits for its retry")
	r.fail.Store(false)           // the backend is back...
	require.NoError(t, a.Close()) // ...and the process is shut down before its retry ran

	got, err := b.Get(ctx, "price")
	assert.ErrorIs(t, err, ErrNotFound, "another process serves %q, written before the invalidation", got)
	assert.EqualValues(t, 0, a.Stats().PendingInvalidations)
	assert.NotContains(t, logs.String(), "dropped", "nothing was dropped")
}

// TestCloseLogsFailedInvalidationsItDrops: when Close's last attempt fails
// too, the invalidations it drops are logged at ERROR with their number.
func TestCloseLogsFailedInvalidationsItDrops(t *testing.T) {
	a, _, r, logs := sharingProcesses(t)
	ctx := context.Background()
	r.fail.Store(true)
	require.Error(t, a.InvalidateTags(ctx, "product:1", "product:2"))
	require.NoError(t, a.Close())

	assert.EqualValues(t, 0, a.Stats().PendingInvalidations, "nothing waits after Close")
	out := logs.String()
	assert.Contains(t, out, "level=ERROR")
	assert.Contains(t, out, "invalidations dropped")
	assert.Contains(t, out, "keys=2")
	assert.Contains(t, out, "overflow=false")
}

// TestCloseLogsDroppedOverflow: a set that overflowed waits for a clear of
// the namespace; when Close cannot make it, the log says so.
func TestCloseLogsDroppedOverflow(t *testing.T) {
	a, _, r, logs := sharingProcesses(t)
	r.fail.Store(true)
	for i := range maxPendingInvalidations + 1 {
		a.retryInvalidation("test", []string{fmt.Sprint("p/junk", i)}, errDown)
	}
	require.NoError(t, a.Close())
	out := logs.String()
	assert.Contains(t, out, "invalidations dropped")
	assert.Contains(t, out, "overflow=true")
}

// hangingDelete is a remote store whose Delete hangs until its context
// ends: a backend that accepts connections and answers nothing.
type hangingDelete struct {
	remote
	hang chan struct{} // closed: Delete hangs
}

func (s *hangingDelete) Delete(ctx context.Context, keys ...string) error {
	select {
	case <-s.hang:
		<-ctx.Done()
		return ctx.Err()
	default:
	}
	return s.remote.Delete(ctx, keys...)
}

// TestCloseBoundedWhenBackendHangs: Close's last attempt at the failed
// invalidations is bounded: against a backend that hangs, Close returns
// within its waits (twice Options.Timeout for the goroutines, twice more
// for the attempt), and logs what it dropped.
func TestCloseBoundedWhenBackendHangs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		logs := new(bytes.Buffer)
		s := &hangingDelete{remote: remote{Backend: newSimple(t, nil)}, hang: make(chan struct{})}
		const timeout = 100 * time.Millisecond
		c := Must(&Options{Backend: s, Timeout: timeout, Logger: slog.New(slog.NewTextHandler(logs, nil)),
			Breaker: BreakerOptions{Threshold: 1 << 30}})
		s.fail.Store(true)
		require.Error(t, c.InvalidateTags(context.Background(), "product:1"))
		s.fail.Store(false)
		close(s.hang)

		start := time.Now()
		require.NoError(t, c.Close())
		assert.LessOrEqual(t, time.Since(start), 2*closeWait*timeout, "Close is bounded (fake time)")
		assert.Contains(t, logs.String(), "invalidations dropped")
		assert.EqualValues(t, 0, c.Stats().PendingInvalidations)
	})
}
