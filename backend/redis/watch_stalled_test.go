package redisstore_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestWatchOfAStalledProcessIsCutByTheServer: a process that stops reading
// its watch connection while the connection stays open (SIGSTOP, a frozen
// VM; here a callback that blocks) must not make the server buffer every
// change message for it without bound, in memory counted toward
// maxmemory. The watch connection is a pub/sub client for the server,
// whose output buffer is bounded (client-output-buffer-limit pubsub, set
// low here to keep the test short): past the limit the server closes it,
// and once the process reads again the watch reports the loss and comes
// back.
func TestWatchOfAStalledProcessIsCutByTheServer(t *testing.T) {
	t.Parallel()
	srv := startRedis(t, "")
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.ConfigSet(ctx, "client-output-buffer-limit", "pubsub 256kb 0 0").Err())

	prefix := uniquePrefix(t)
	s := redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr, Prefix: prefix})
	t.Cleanup(func() { _ = s.Close() })
	ev := newEvents()
	release := make(chan struct{})
	var stall sync.Once
	w, err := s.WatchInvalidations(func(keys []string) {
		stall.Do(func() { <-release }) // the process stops reading
		ev.changed(keys)
	}, ev.state)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})
	ev.waitFor(t, "the watch", watching(true))
	flags, ok := watchClient(t, admin, "caching-near")
	require.True(t, ok, "the watch connection is in CLIENT LIST")
	assert.Contains(t, flags, "P", "the server counts the watch connection as a pub/sub client")

	pad := strings.Repeat("x", 1000)
	const batches, per = 64, 1000 // at most 64 MiB of change messages
	cut := false
	for b := 0; b < batches && !cut; b++ {
		pipe := admin.Pipeline()
		for i := range per {
			pipe.Set(ctx, prefix+pad+strconv.Itoa(b*per+i), "v", time.Minute)
		}
		_, err := pipe.Exec(ctx)
		require.NoError(t, err)
		_, connected := watchClient(t, admin, "caching-near")
		cut = !connected
	}
	require.True(t, cut, "the server still buffers the change messages of a stalled watch connection after %d MiB of them", batches*per*len(pad)>>20)

	close(release)
	ev.waitFor(t, "the loss and the return", func(e *events) bool { return len(e.states) >= 3 && e.watching })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	assert.Equal(t, []bool{true, false, true}, ev.states)
}

// TestWatchOfEveryClusterMasterIsBounded: each master's watch connection is
// a pub/sub client for its server, as a single node's is.
func TestWatchOfEveryClusterMasterIsBounded(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	name := "watch-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	client := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs, ClientName: name, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	s := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t)})
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))
	var (
		mu      sync.Mutex
		masters []*redis.Client
	)
	require.NoError(t, client.ForEachMaster(context.Background(), func(_ context.Context, m *redis.Client) error {
		mu.Lock() // ForEachMaster calls this concurrently
		masters = append(masters, m)
		mu.Unlock()
		return nil
	}))
	require.NotEmpty(t, masters)
	for _, m := range masters {
		flags, ok := watchClient(t, m, name+"-caching-near")
		assert.True(t, ok, "a watch connection on %s", m.Options().Addr)
		assert.Contains(t, flags, "P", "the watch connection on %s is a pub/sub client", m.Options().Addr)
	}
}

// TestWatchWithoutAccessToItsChannel: a user whose ACL refuses the watch's
// pub/sub channel (resetchannels, the default of a user created on Redis 7)
// is still watched, on a connection the server does not bound.
func TestWatchWithoutAccessToItsChannel(t *testing.T) {
	t.Parallel()
	srv := startRedis(t, "")
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: srv.Addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = admin.Close() })
	require.NoError(t, admin.Do(ctx, "ACL", "SETUSER", "nochannels", "reset", "on", ">pw", "~*", "resetchannels", "+@all").Err())
	limited := redis.NewClient(&redis.Options{Addr: srv.Addr, Username: "nochannels", Password: "pw", ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = limited.Close() })
	require.Error(t, limited.Do(ctx, "SUBSCRIBE", "__caching-near__:watch").Err(), "the user may not subscribe")

	s := redisstore.Must(redisstore.Options{URL: "redis://nochannels:pw@" + srv.Addr, Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = s.Close() })
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))
	require.NoError(t, s.Set(ctx, "k", []byte("1"), time.Minute))
	ev.waitFor(t, "a key", sawKey("k"))
	ev.mu.Lock()
	defer ev.mu.Unlock()
	assert.Equal(t, []bool{true}, ev.states)
}

// watchClient returns the flags of the connection named name (a watch's)
// in the server's CLIENT LIST, and whether it is there.
func watchClient(t *testing.T, admin *redis.Client, name string) (flags string, ok bool) {
	t.Helper()
	list, err := admin.ClientList(context.Background()).Result()
	require.NoError(t, err)
	for _, line := range strings.Split(list, "\n") {
		fields := map[string]string{}
		for _, f := range strings.Fields(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name {
			return fields["flags"], true
		}
	}
	return "", false
}
