package caching

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// closingSlowDelete is a shared remote whose Delete waits for release, then
// fails (a backend blip that ends in an error).
type closingSlowDelete struct {
	sharedRemote
	entered, release chan struct{}
}

func (s *closingSlowDelete) Delete(ctx context.Context, keys ...string) error {
	close(s.entered)
	<-s.release
	return errDown
}

// TestInvalidationFailingDuringCloseIsLogged: an InvalidateTags under
// way when Close is called, whose delete fails as Close runs, comes after
// Close's last attempt: it is dropped, and logged at ERROR as Close's
// own drops are, so that the stale entries other processes serve
// leave a trace.
func TestInvalidationFailingDuringCloseIsLogged(t *testing.T) {
	shared := newSimple(t, nil)
	other := Must(&Options{Backend: sharedRemote{&remote{Backend: shared}}})
	t.Cleanup(func() { other.Close() })
	logs := new(bytes.Buffer)
	s := &closingSlowDelete{sharedRemote: sharedRemote{&remote{Backend: shared}}, entered: make(chan struct{}), release: make(chan struct{})}
	a := Must(&Options{Backend: s, Logger: slog.New(slog.NewTextHandler(logs, nil)), Breaker: BreakerOptions{Threshold: 1 << 30}})
	ctx := context.Background()
	require.NoError(t, other.Set(ctx, "price", []byte("old"), time.Hour, Tags("product:1")))

	done := make(chan error)
	go func() { done <- a.InvalidateTags(ctx, "product:1") }()
	<-s.entered
	require.NoError(t, a.Close()) // a deploy: the process shuts down
	close(s.release)
	require.Error(t, <-done)

	_, err := other.Get(ctx, "price")
	require.NoError(t, err, "another process still serves the entry the invalidation was meant to end")
	assert.Contains(t, logs.String(), "dropped", "the dropped invalidation is logged, as Close's doc says")
}
