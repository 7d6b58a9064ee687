package redisstore_test

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
)

// maxmemoryRedis starts a Redis of 8 MiB maxmemory under policy and returns
// its address. Its default user (the Store's) cannot read maxmemory
// (noConfigACL): the Store does not refuse values over a third of it, and the
// server's own OOM refusals are the guard. The user "admin" may run every
// command. Its Stores take long timeouts: 16 MiB values on a loaded machine
// outlast the default 500ms, and the tests are about what is refused.
func maxmemoryRedis(t *testing.T, policy string) string {
	t.Helper()
	return redisWith(t, append([]string{"--maxmemory", "8mb", "--maxmemory-policy", policy}, noConfigACL...)...)
}

// netInput is how many bytes the server has read from its clients.
func netInput(t *testing.T, admin *redis.Client) int64 {
	t.Helper()
	return statsField(t, admin, "total_net_input_bytes")
}

// statsField is the number of INFO stats' field name.
func statsField(t *testing.T, admin *redis.Client, name string) int64 {
	t.Helper()
	s, err := admin.Info(context.Background(), "stats").Result()
	require.NoError(t, err)
	for _, line := range bytes.Split([]byte(s), []byte("\r\n")) {
		if v, ok := bytes.CutPrefix(line, []byte(name+":")); ok {
			n, err := strconv.ParseInt(string(v), 10, 64)
			require.NoError(t, err)
			return n
		}
	}
	t.Fatalf("no %s in INFO stats", name)
	return 0
}

// Under an allkeys-* policy Redis may take a value larger than maxmemory
// and then evict every key of the server (every tenant's, the value too),
// or evict them all and refuse it with OOM. Once it has refused such a
// value, the Store refuses one as large for a while without sending it, so
// that a client asking again and again for a large response does not empty
// the shared server on each request.
func TestOutOfMemoryRefusalDoesNotEvictEveryKeyAgain(t *testing.T) {
	addr := maxmemoryRedis(t, "allkeys-lru")
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s", Prefix: "a"})
	require.NoError(t, err)
	defer b.Close()
	other, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s", Prefix: "other-tenant"})
	require.NoError(t, err)
	defer other.Close()
	small := bytes.Repeat([]byte("v"), 1000)
	fill := func() {
		// The server refuses every write for a moment after a large one
		// (its query buffer is trimmed later): wait for it.
		deadline := time.Now().Add(10 * time.Second)
		for i := 0; i < 3000; { // about 4 MiB: well under maxmemory
			if err := other.Set(ctx, fmt.Sprint("k", i), small, time.Hour); err != nil {
				require.False(t, time.Now().After(deadline), "%v", err)
				time.Sleep(50 * time.Millisecond)
				continue
			}
			i++
		}
	}
	admin := redis.NewClient(&redis.Options{Addr: addr, Username: "admin", Password: "any"})
	defer admin.Close()
	big := bytes.Repeat([]byte("x"), 16<<20) // larger than maxmemory
	// The first Sets of it: the server takes or refuses it, and evicts
	// what it can either way. One right after another is refused with OOM
	// (the first's memory is not freed yet).
	fill()
	refused := false
	for i := 0; i < 5 && !refused; i++ {
		err := b.Set(ctx, "big", big, time.Hour)
		t.Logf("Set of a value over maxmemory: %v", err)
		refused = err != nil
	}
	require.True(t, refused, "the server never refused a value over maxmemory")
	fill()
	before := admin.DBSize(ctx).Val()
	in := netInput(t, admin)
	for range 3 {
		err := b.Set(ctx, "big", big, time.Hour)
		require.ErrorIs(t, err, backend.ErrValueTooLarge)
		err = b.Set(ctx, "bigger", append(big, 'x'), time.Hour)
		require.ErrorIs(t, err, backend.ErrValueTooLarge)
	}
	require.Less(t, netInput(t, admin)-in, int64(1<<20), "the refused values were sent")
	require.Equal(t, before, admin.DBSize(ctx).Val(), "Sets of a value the server refused evicted other keys")
}

// A value at least as large as one the server refused with OOM is refused
// before it is sent, as the server refused it: Set and SetMany remove the
// older value under its key, Add leaves the key as it was; smaller values
// are sent as before.
func TestOutOfMemoryRefusedSizeIsRefusedBeforeSending(t *testing.T) {
	addr := maxmemoryRedis(t, "noeviction")
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s"})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr, Username: "admin", Password: "any"})
	defer admin.Close()

	for _, k := range []string{"set", "setmany", "add"} {
		require.NoError(t, b.Set(ctx, k, []byte("old"), time.Hour))
	}
	big := bytes.Repeat([]byte("x"), 16<<20)
	require.ErrorIs(t, b.Set(ctx, "big", big, time.Hour), backend.ErrValueTooLarge) // sent, refused
	// The server refuses every write for a moment after a large one (its
	// query buffer is trimmed later): wait for it.
	for deadline := time.Now().Add(10 * time.Second); b.Set(ctx, "probe", []byte("s"), time.Hour) != nil; {
		require.False(t, time.Now().After(deadline), "the server refuses small writes")
		time.Sleep(50 * time.Millisecond)
	}
	in := netInput(t, admin)

	err = b.Set(ctx, "set", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = b.Get(ctx, "set")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the refused Set was to replace is still readable")

	err = b.SetMany(ctx, []backend.Item{
		{Key: "setmany", Value: big, TTL: time.Hour},
		{Key: "other", Value: []byte("new"), TTL: time.Hour},
	})
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = b.Get(ctx, "setmany")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the refused item was to replace is still readable")
	got, err := b.Get(ctx, "other")
	require.NoError(t, err, "SetMany's other item was not stored")
	require.Equal(t, "new", string(got))

	added, err := b.Add(ctx, "add", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.False(t, added)
	got, err = b.Get(ctx, "add")
	require.NoError(t, err, "a refused Add removed what the key held")
	require.Equal(t, "old", string(got))

	require.Less(t, netInput(t, admin)-in, int64(1<<20), "the refused values were sent")

	// A smaller value is sent: here the server refuses it too, with OOM.
	err = b.Set(ctx, "half", big[:8<<20], time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.Greater(t, netInput(t, admin)-in, int64(8<<20), "a smaller value was not sent")
}
