package caching

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMemoizeForcedGetsDuringOutageKeepRetrySet: RefreshIf is how a
// request forces a refresh (README: Flask's forced_update; a client's
// Cache-Control: no-cache). During an outage (every backend call fails or
// the breaker is open), a forced Get of a new argument must not put its
// entry's key into the invalidation retry set (dropEntry): more than
// maxPendingInvalidations distinct forced arguments (4097 requests) would
// overflow the set, every lookup of this process would miss until the
// backend answers, and then the retry would clear the backend's whole
// namespace, the entries of every process sharing it, though no entry was
// ever declared out of date by an update.
func TestMemoizeForcedGetsDuringOutageKeepRetrySet(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		r := &remote{Backend: newSimple(t, nil)}
		c, err := New(&Options{Backend: r, Logger: slog.New(slog.DiscardHandler)})
		require.NoError(t, err)
		defer c.Close()
		ctx := context.Background()
		m := Memoize(c, "forced-outage", func(_ context.Context, n int) (string, error) {
			return fmt.Sprint("v", n), nil
		}, TTL(time.Hour), RefreshIf(func(_ context.Context, n int) bool { return n >= 1000 }))
		_, err = m.Get(ctx, 1) // an ordinary entry, stored before the outage
		require.NoError(t, err)

		r.fail.Store(true) // the outage
		trips := r.trips.Load()
		for n := 1000; n < 1000+maxPendingInvalidations+1; n++ {
			_, _ = m.Get(ctx, n) // forced by the client
		}
		t.Logf("backend calls for %d forced Gets during the outage: %d", maxPendingInvalidations+1, r.trips.Load()-trips)
		p := &c.store.pending
		p.mu.Lock()
		pending, overflow := len(p.keys), p.overflow != 0
		p.mu.Unlock()
		t.Logf("retry set: %d keys, overflow %v", pending, overflow)

		r.fail.Store(false) // the backend is back
		time.Sleep(2 * time.Minute)
		synctest.Wait()
		_, fresh, err := m.Peek(ctx, 1)
		assert.NoError(t, err, "the entry of 1, which nothing invalidated, was cleared by forced reads during the outage")
		assert.True(t, fresh)
		assert.False(t, overflow, "forced Gets during an outage overflowed the invalidation retry set")
	})
}
