package caching

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// heldSets is a backend whose Set hangs: it says on started that it began,
// and returns when its context ends or release is closed.
type heldSets struct {
	backend.Backend
	started, release chan struct{}
}

func (h heldSets) Set(ctx context.Context, _ string, _ []byte, _ time.Duration) error {
	h.started <- struct{}{}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-h.release:
		return errors.New("held store released")
	}
}

// TestMemoizeSetsOnHungBackendDoNotQueue: Set's store was made under
// saveMu's read lock, and every Set of the name first took saveMu's write
// lock (its supersede): on a hung backend each Set waited for the store of
// the Set before it (bounded by Options.Timeout), and its own store then
// held the lock the next one waited for, so that Sets of different
// arguments, each of which fails after Timeout on its own, took longer and
// longer until the breaker opened. Now no lock is held across a write but
// the key's own: a Set waits for no write of another argument, and its
// supersede for none. (Found by review.)
//
// Counted, not timed: each Set's store begins while every store before it
// still hangs. Queued, the next store would begin only once the one before
// it ended, after Options.Timeout, a minute here; the guard, half of it,
// is far past the milliseconds a store takes to begin on any machine.
//
// Real time: under testing/synctest a goroutine blocked on a sync.RWMutex
// (saveMu, before) is not durably blocked, so the bubble's clock never
// reaches the hung store's deadline.
func TestMemoizeSetsOnHungBackendDoNotQueue(t *testing.T) {
	const timeout = time.Minute
	const n = 12
	h := heldSets{Backend: &remote{Backend: newSimple(t, nil)}, started: make(chan struct{}, 4*n), release: make(chan struct{})}
	c, err := New(&Options{Backend: h, Timeout: timeout, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	defer c.Close()
	m := Memoize(c, "set-hung-queue", func(context.Context, int) (string, error) { return "v", nil })
	errs := make(chan error, n)
	released := false
	defer func() {
		if !released {
			close(h.release)
		}
	}()
	for i := range n {
		go func() { errs <- m.Set(context.Background(), i, "x") }() // a different argument each
		select {
		case <-h.started:
		case <-time.After(timeout / 2):
			t.Fatalf("Set %d's store waits for the store of an earlier Set, which hangs", i)
		}
	}
	close(h.release)
	released = true
	for range n {
		assert.Error(t, <-errs, "a Set on a backend whose stores fail")
	}
}
