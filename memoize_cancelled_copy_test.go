package caching

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// bytesAllocatedBy is what f allocates, in bytes (one goroutine).
func bytesAllocatedBy(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestMemoizeCancelledCallerCopiesNothing: a Get whose ctx has already ended
// starts no computation (flight.Do returns ctx.Err() before joining), and
// copies nothing: a client that has disconnected costs its key, not a deep
// copy of its argument.
func TestMemoizeCancelledCallerCopiesNothing(t *testing.T) {
	c, err := New(&Options{})
	require.NoError(t, err)
	defer c.Close()
	var calls int
	m := Memoize(c, "cancelled-copy", func(_ context.Context, ids []string) (int, error) {
		calls++
		return len(ids), nil
	}, TTL(time.Minute))
	ids := make([]string, 200_000)
	for i := range ids {
		ids[i] = "x"
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _ = m.Key(ids) // warm up type caches
	keyBytes := bytesAllocatedBy(func() { _, _ = m.Key(ids) })
	getBytes := bytesAllocatedBy(func() {
		_, err := m.Get(ctx, ids)
		require.ErrorIs(t, err, context.Canceled)
	})
	require.Zero(t, calls, "no computation started")
	t.Logf("Key: %d bytes, Get with an ended ctx: %d bytes", keyBytes, getBytes)
	require.LessOrEqual(t, getBytes, keyBytes+64<<10,
		"a Get whose ctx had ended copied its argument (a copy nobody uses)")
}
