package near_test

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/near"
	"github.com/go-caching/caching/backend/simple"
)

// neverWatching is a remote store whose watch is never established, as a
// Redis store's is while the server is down.
type neverWatching struct{ *simple.Store }

func (neverWatching) WatchInvalidations(func([]string), func(bool)) (io.Closer, error) {
	return closerFunc(func() error { return nil }), nil
}

// TestCloseEndsWaitWatching: a program that waits for the near cache in a
// goroutine of its own (a readiness check, while Redis is down) and then
// shuts down must not leave that goroutine waiting forever; and a closed
// Store does not report a near cache in use.
func TestCloseEndsWaitWatching(t *testing.T) {
	s, err := near.New(neverWatching{simple.Must(simple.Options{})}, near.Options{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- s.WaitWatching(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, s.Close())
	select {
	case err := <-done:
		assert.ErrorIs(t, err, backend.ErrClosed)
	case <-time.After(10 * time.Second): // a hang guard: generous for a loaded machine
		t.Fatal("WaitWatching still waits 10s after Close: its goroutine leaks")
	}

	watched := near.Must(simple.Must(simple.Options{}), near.Options{}) // in use at once
	require.NoError(t, watched.WaitWatching(context.Background()))
	require.NoError(t, watched.Close())
	assert.ErrorIs(t, watched.WaitWatching(context.Background()), backend.ErrClosed)
	assert.False(t, watched.NearStats().Watching, "a closed Store reports its near cache in use")
}
