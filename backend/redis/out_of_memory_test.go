package redisstore_test

import (
	"bytes"
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// oomStore is a Store on a Redis of 8 MiB maxmemory under noeviction (so
// that the test's other keys stay), which refuses a value over it with "OOM
// command not allowed".
func oomStore(t *testing.T) *redisstore.Store {
	t.Helper()
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--maxmemory", "8mb", "--maxmemory-policy", "noeviction"}
	})
	// Long timeouts: a 16 MiB value outlasts 500ms on a loaded machine.
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + p.Addr + "?read_timeout=10s&write_timeout=10s"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// SetMany's items the server refuses with OOM are refused as a Set's are:
// the error wraps backend.ErrValueTooLarge, their older values are gone,
// and the items it took are stored.
func TestOutOfMemorySetManyRefusesTheItems(t *testing.T) {
	ctx := context.Background()
	b := oomStore(t)
	require.NoError(t, b.Set(ctx, "big", []byte("old"), time.Hour))
	require.NoError(t, b.Set(ctx, "small", []byte("old"), time.Hour))

	big := bytes.Repeat([]byte("x"), 16<<20)
	err := b.SetMany(ctx, []backend.Item{
		{Key: "small", Value: []byte("new"), TTL: time.Hour},
		{Key: "big", Value: big, TTL: time.Hour},
	})
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = b.Get(ctx, "big")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the refused item was to replace is still readable")
	got, err := b.Get(ctx, "small")
	require.NoError(t, err)
	require.Equal(t, "new", string(got))
}

// Add's SET NX refused with OOM is backend.ErrValueTooLarge too (an answer
// of the server, not its failure), and leaves what the key held: Add
// replaces nothing.
func TestOutOfMemoryAddIsARefusal(t *testing.T) {
	ctx := context.Background()
	b := oomStore(t)
	require.NoError(t, b.Set(ctx, "held", []byte("lease"), time.Hour))

	big := bytes.Repeat([]byte("x"), 16<<20)
	added, err := b.Add(ctx, "free", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.False(t, added)
	added, err = b.Add(ctx, "held", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.False(t, added)
	got, err := b.Get(ctx, "held")
	require.NoError(t, err)
	require.Equal(t, "lease", string(got))
}

// INCRBY refused by a full noeviction Redis with OOM is a refusal, as a
// Set's is: an error wrapping backend.ErrValueTooLarge (which a Cache's
// breaker does not count), not a failure of the server; the counter is
// left as it was.
func TestOutOfMemoryIncrIsARefusal(t *testing.T) {
	ctx := context.Background()
	b := oomStore(t)
	v := bytes.Repeat([]byte("y"), 4000) // small entries, until it is full
	var err error
	for i := 0; err == nil; i++ {
		require.Less(t, i, 10000, "Redis never refused a write under 8 MiB of maxmemory")
		err = b.Set(ctx, "fill"+strconv.Itoa(i), v, time.Hour)
	}
	require.ErrorIs(t, err, backend.ErrValueTooLarge, "a write refused by a full Redis")

	_, err = b.Incr(ctx, "counter", 1)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.Contains(t, err.Error(), "OOM")
	_, err = b.Get(ctx, "counter")
	require.ErrorIs(t, err, backend.ErrNotFound)
}
