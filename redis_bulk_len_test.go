package caching

import (
	"bytes"
	"context"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// A value over Redis's proto-max-bulk-len (1 MiB here, 512 MiB by
// default), which Memoize and the direct API do not cap, was answered with
// "ERR Protocol error: invalid bulk length" or a connection reset: an error
// the breaker counted, so that a client making results that large opened
// it for every caller, and the older value stayed readable. The Redis
// store refuses it before sending it, as a value over its maxmemory
// (TestRedisOutOfMemorySetRefusesTheItem): backend.ErrValueTooLarge, the
// older value gone, the breaker closed; a memoized result that large is
// returned uncached, and the refusal counted in Stats.Errors.
func TestRedisValueOverProtoMaxBulkLenDoesNotOpenTheBreaker(t *testing.T) {
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--proto-max-bulk-len", "1mb"}
	})
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + p.Addr + "?read_timeout=10s&write_timeout=10s", Prefix: "bulk"})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: 10 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	require.NoError(t, c.Set(ctx, "k", []byte("old"), time.Hour))
	require.NoError(t, c.Set(ctx, "small", []byte("s"), time.Hour))

	big := bytes.Repeat([]byte("x"), 2<<20)
	err = c.Set(ctx, "k", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "a value over proto-max-bulk-len")
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, ErrNotFound, "the value the refused Set was to replace is still readable")
	for i := range 8 {
		err := c.Set(ctx, "big"+strconv.Itoa(i), big, time.Hour)
		require.ErrorIs(t, err, backend.ErrValueTooLarge, "Set %d", i)
	}
	require.Equal(t, "closed", c.Stats().Breaker, "values over proto-max-bulk-len opened the breaker")

	before := c.Stats().Errors
	m := Memoize(c, "report", func(_ context.Context, id int) ([]byte, error) {
		return big, nil
	}, TTL(time.Hour))
	for i := range 8 {
		v, err := m.Get(ctx, i)
		require.NoError(t, err, "Memoize %d", i)
		require.Len(t, v, len(big))
	}
	require.Greater(t, c.Stats().Errors, before, "the refused stores are not counted in Stats.Errors")
	require.Equal(t, "closed", c.Stats().Breaker, "memoized results over proto-max-bulk-len opened the breaker")
	got, err := c.Get(ctx, "small")
	require.NoError(t, err)
	require.Equal(t, "s", string(got))
}
