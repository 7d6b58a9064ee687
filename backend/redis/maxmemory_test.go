package redisstore_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// redisWith starts a redis-server of its own (skipped without one, failed
// under CI=true) with the extra arguments, and returns its address.
func redisWith(t *testing.T, extra ...string) string {
	t.Helper()
	p := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}, extra...)
	})
	return p.Addr
}

// noConfigACL are redis-server arguments whose default user (the Store's)
// may run every command but CONFIG and INFO, so that it cannot read
// maxmemory, and whose user "admin" (the test's) may run them all.
var noConfigACL = []string{
	"--user", "default", "on", "nopass", "~*", "&*", "+@all", "-config", "-info",
	"--user", "admin", "on", "nopass", "~*", "&*", "+@all",
}

// keysUnder is how many keys the server holds under prefix.
func keysUnder(t *testing.T, admin *redis.Client, prefix string) int {
	t.Helper()
	keys, err := admin.Keys(context.Background(), prefix+"*").Result()
	require.NoError(t, err)
	return len(keys)
}

// sharedTenantServer starts a Redis of its own with maxmemory and the
// allkeys-lru policy, stores 300 values of 1000 bytes (about 350 KiB) of
// another tenant under "other-tenant:" (keysUnder counts them), and returns
// a Store of prefix "a" on it and a plain client for looking at it.
func sharedTenantServer(t *testing.T, maxmemory string) (*redisstore.Store, *redis.Client) {
	t.Helper()
	addr := redisWith(t, "--maxmemory", maxmemory, "--maxmemory-policy", "allkeys-lru")
	// Timeouts long enough for the largest value (21 MiB at 64mb) on a
	// loaded machine: the tests are about what is stored, not how fast.
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s", Prefix: "a"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	other, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s", Prefix: "other-tenant"})
	require.NoError(t, err)
	defer other.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = admin.Close() })
	small := bytes.Repeat([]byte("v"), 1000)
	for i := range 300 {
		require.NoError(t, other.Set(context.Background(), "k"+strconv.Itoa(i), small, time.Hour))
	}
	ageKeys(t, admin, "other-tenant")
	return b, admin
}

// ageKeys makes the keys under prefix look unused for an hour to the
// server's LRU, as the other keys of a server in use are. Redis's LRU
// clock counts seconds: keys written within the same second tie, and a
// server at its maxmemory, which evicts before every command (a read
// too), then evicted the value a test had just stored as readily as any
// of them, so that the test's next Get found nothing (a cache's ordinary
// miss, not the Store's doing) about one run in ten on a 2 MiB server.
func ageKeys(t *testing.T, admin *redis.Client, prefix string) {
	t.Helper()
	ctx := context.Background()
	keys, err := admin.Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	for _, k := range keys {
		dump, err := admin.Dump(ctx, k).Result()
		require.NoError(t, err)
		require.NoError(t, admin.Do(ctx, "RESTORE", k, time.Hour.Milliseconds(), dump, "REPLACE", "IDLETIME", 3600).Err())
	}
}

// Under an allkeys-* policy Redis takes a value close to its maxmemory
// after evicting every other key of the server (every tenant's), or evicts
// them all and refuses it. The Store reads maxmemory and refuses, before
// sending it, a value of more than a third of it less 1 MiB: on the first
// such write, before the server ever refused one. Set and SetMany remove the older
// value under the key, Add leaves it, as for the server's OOM refusal;
// smaller values are stored.
func TestMaxmemoryLargeValueIsRefusedBeforeEvictingEveryKey(t *testing.T) {
	b, admin := sharedTenantServer(t, "2mb")
	ctx := context.Background()
	for _, k := range []string{"set", "setmany", "add"} {
		require.NoError(t, b.Set(ctx, k, []byte("old"), time.Hour))
	}
	in := netInput(t, admin)

	big := bytes.Repeat([]byte("x"), 1536<<10) // 1.5 MiB: over a third of 2 MiB, under 2 MiB
	err := b.Set(ctx, "set", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.Contains(t, err.Error(), "maxmemory")
	_, err = b.Get(ctx, "set")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the refused Set was to replace is still readable")

	err = b.SetMany(ctx, []backend.Item{
		{Key: "setmany", Value: big, TTL: time.Hour},
		{Key: "new", Value: []byte("new"), TTL: time.Hour},
	})
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	_, err = b.Get(ctx, "setmany")
	require.ErrorIs(t, err, backend.ErrNotFound, "the value the refused item was to replace is still readable")
	got, err := b.Get(ctx, "new")
	require.NoError(t, err, "SetMany's other item was not stored")
	require.Equal(t, "new", string(got))

	added, err := b.Add(ctx, "add", big, time.Hour)
	require.ErrorIs(t, err, backend.ErrValueTooLarge)
	require.False(t, added)
	got, err = b.Get(ctx, "add")
	require.NoError(t, err, "a refused Add removed what the key held")
	require.Equal(t, "old", string(got))

	require.Less(t, netInput(t, admin)-in, int64(64<<10), "the refused values were sent")
	require.Equal(t, 300, keysUnder(t, admin, "other-tenant:"), "a value over a third of maxmemory evicted the other tenant's keys")

	// A value under a third of maxmemory less 1 MiB is sent and stored.
	medium := bytes.Repeat([]byte("m"), 128<<10)
	require.NoError(t, b.Set(ctx, "medium", medium, time.Hour))
	got, err = b.Get(ctx, "medium")
	require.NoError(t, err)
	require.Equal(t, medium, got)
}

// A server without maxmemory (0: no limit) takes a value of any size.
func TestMaxmemoryZeroGuardsNothing(t *testing.T) {
	addr := redisWith(t, "--maxmemory", "0")
	ctx := context.Background()
	// Timeouts long enough for 8 MiB on a loaded machine (500ms failed 3
	// of 4 runs under -race): the test is about what is stored.
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s"})
	require.NoError(t, err)
	defer b.Close()
	big := bytes.Repeat([]byte("x"), 8<<20)
	require.NoError(t, b.Set(ctx, "big", big, time.Hour))
	got, err := b.Get(ctx, "big")
	require.NoError(t, err)
	require.Equal(t, len(big), len(got))
}

// commandRejections is how many calls of cmd (as INFO commandstats names
// it: "info", "config|get") the server refused (an ACL's NOPERM).
func commandRejections(t *testing.T, admin *redis.Client, cmd string) int {
	t.Helper()
	s, err := admin.Info(context.Background(), "commandstats").Result()
	require.NoError(t, err)
	for _, line := range strings.Split(s, "\r\n") {
		stats, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":")
		if !ok {
			continue
		}
		for _, f := range strings.Split(stats, ",") {
			if v, ok := strings.CutPrefix(f, "rejected_calls="); ok {
				n, err := strconv.Atoi(v)
				require.NoError(t, err)
				return n
			}
		}
	}
	return 0
}

// A Store whose user may not run CONFIG nor INFO cannot read maxmemory: it
// writes as before (the server's own OOM refusals remain the guard), and
// does not ask again on every write.
func TestMaxmemoryUnreadableWritesAsBeforeAndAsksRarely(t *testing.T) {
	addr := redisWith(t, append([]string{"--maxmemory", "8mb", "--maxmemory-policy", "noeviction"}, noConfigACL...)...)
	ctx := context.Background()
	b, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "?read_timeout=10s&write_timeout=10s"})
	require.NoError(t, err)
	defer b.Close()
	admin := redis.NewClient(&redis.Options{Addr: addr, Username: "admin", Password: "any"})
	defer admin.Close()

	value := bytes.Repeat([]byte("x"), 256<<10) // large enough for the Store to look at maxmemory
	for i := range 5 {
		require.NoError(t, b.Set(ctx, "k", value, time.Hour), "Set %d", i)
		require.NoError(t, b.SetMany(ctx, []backend.Item{{Key: "a", Value: value}, {Key: "b", Value: value}}), "SetMany %d", i)
		_, err := b.Add(ctx, "add", value, time.Hour)
		require.NoError(t, err, "Add %d", i)
	}
	require.Equal(t, 1, commandRejections(t, admin, "config|get"), "CONFIG GET asked again")
	require.Equal(t, 1, commandRejections(t, admin, "info"), "INFO asked again")
}
