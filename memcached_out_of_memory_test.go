package caching

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	"github.com/go-caching/caching/backend/memcached"
	"github.com/go-caching/caching/internal/testutil"
)

// A memcached whose memory is full of small items refuses a large value
// that fits its -I ("SERVER_ERROR Out of memory during read": items over
// half of -I are chunked, and the chunks cannot be evicted for) and keeps
// the older value under the key. The refusal is the item's, as a value too
// large is: the older value must go (Backend.Set's contract), the error must
// say so, and the breaker must not count it, or a client that makes large
// responses on a few URLs switches the cache off for everyone.
func TestMemcachedOutOfMemorySetRefusesTheItem(t *testing.T) {
	ctx := context.Background()
	p := testutil.StartProcess(t, "memcached", func(port int) []string {
		// -I 2m as .ci/services.sh runs it; -m small so that the fill is quick.
		return []string{"-u", "root", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-m", "16", "-I", "2m"}
	})
	b, err := memcached.New(memcached.Options{Servers: []string{p.Addr}, Namespace: "oom", MaxItemSize: 2 << 20, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	require.NoError(t, c.Set(ctx, "k", []byte("old"), time.Hour))
	require.NoError(t, c.Set(ctx, "small", []byte("s"), time.Hour))

	// Ordinary traffic: many small entries fill memcached's memory.
	fill, err := memcached.New(memcached.Options{Servers: []string{p.Addr}, Namespace: "fill", Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	defer fill.Close()
	v := bytes.Repeat([]byte("y"), 2000)
	for i := range 20000 {
		require.NoError(t, fill.Set(ctx, strconv.Itoa(i), v, 0))
	}
	require.NoError(t, c.Set(ctx, "small", []byte("s"), time.Hour)) // recently used: not evicted below

	big := bytes.Repeat([]byte("x"), 1900<<10) // fits MaxItemSize and -I
	err = c.Set(ctx, "k", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "the server's refusal of the item")
	require.Contains(t, err.Error(), "no memory")
	_, err = c.Get(ctx, "k")
	require.ErrorIs(t, err, ErrNotFound, "the value the refused Set was to replace is still readable")

	for i := range 8 {
		err := c.Set(ctx, "big"+strconv.Itoa(i), big, time.Hour)
		require.True(t, err == nil || errors.Is(err, backend.ErrValueTooLarge), "Set %d: %v", i, err)
	}
	got, err := c.Get(ctx, "small")
	require.NoError(t, err, "after large Sets the server refused, a hit fails (the breaker opened)")
	require.Equal(t, "s", string(got))
}
