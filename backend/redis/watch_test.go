package redisstore_test

import (
	"context"
	"fmt"
	"io"
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

// events records what a watch reports.
type events struct {
	mu       sync.Mutex
	keys     map[string]int
	flushes  int
	states   []bool
	watching bool
	signal   chan struct{}
}

func newEvents() *events {
	return &events{keys: map[string]int{}, signal: make(chan struct{}, 1)}
}

func (e *events) changed(keys []string) {
	e.mu.Lock()
	if keys == nil {
		e.flushes++
	}
	for _, k := range keys {
		e.keys[k]++
	}
	e.mu.Unlock()
	e.notify()
}

func (e *events) state(on bool) {
	e.mu.Lock()
	e.states = append(e.states, on)
	e.watching = on
	e.mu.Unlock()
	e.notify()
}

func (e *events) notify() {
	select {
	case e.signal <- struct{}{}:
	default:
	}
}

// waitFor waits until cond holds (checked under the lock after each
// event), failing the test after 10 seconds.
func (e *events) waitFor(t *testing.T, what string, cond func(e *events) bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		e.mu.Lock()
		ok := cond(e)
		e.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-e.signal:
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func watching(on bool) func(*events) bool { return func(e *events) bool { return e.watching == on } }

func sawKey(k string) func(*events) bool { return func(e *events) bool { return e.keys[k] > 0 } }

// watchStore starts a watch on s, stopped when the test ends.
func watchStore(t *testing.T, s *redisstore.Store) *events {
	t.Helper()
	ev := newEvents()
	w, err := s.WatchInvalidations(ev.changed, ev.state)
	require.NoError(t, err)
	t.Cleanup(func() { _ = w.Close() })
	return ev
}

func TestWatchReportsChangesByAnyClient(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	prefix := uniquePrefix(t)
	s := redisstore.Must(redisstore.Options{URL: "redis://" + addr + "?" + testutil.SlowRedisQuery, Prefix: prefix})
	t.Cleanup(func() { _ = s.Clear(context.Background()); _ = s.Close() })
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))

	other := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = other.Close() })
	ctx := context.Background()
	require.NoError(t, other.Set(ctx, prefix+"written", "1", 0).Err())
	require.NoError(t, other.Set(ctx, "elsewhere:"+prefix+"x", "1", time.Second).Err())
	require.NoError(t, s.Set(ctx, "own", []byte("1"), 0))
	require.NoError(t, s.Delete(ctx, "own"))
	require.NoError(t, other.Set(ctx, prefix+"expiring", "1", 5*time.Millisecond).Err())
	ev.waitFor(t, "the keys", func(e *events) bool {
		return e.keys["written"] == 1 && e.keys["own"] == 2 && e.keys["expiring"] >= 1
	})
	// Redis reports an expiry when it removes the key, which its active
	// expiry does only when its walk of the keys with a TTL reaches it (a
	// few at a time: with other tests' keys in the database, many
	// seconds), or when the key is read after its time: read it.
	time.Sleep(10 * time.Millisecond)
	require.NoError(t, other.Exists(ctx, prefix+"expiring").Err())
	ev.waitFor(t, "the expiry", func(e *events) bool { return e.keys["expiring"] == 2 })
	ev.mu.Lock()
	defer ev.mu.Unlock()
	for k := range ev.keys {
		assert.False(t, strings.Contains(k, "elsewhere"), "a key outside the prefix was reported: %q", k)
	}
	assert.Equal(t, []bool{true}, ev.states)
}

func TestWatchOnEveryClusterMaster(t *testing.T) {
	t.Parallel()
	addrs := testutil.RedisClusterAddrs(t)
	prefix := uniquePrefix(t)
	s := redisstore.Must(redisstore.Options{URL: "redis+cluster://" + strings.Join(addrs, ",") + "?" + testutil.SlowRedisQuery, Prefix: prefix})
	t.Cleanup(func() { _ = s.Clear(context.Background()); _ = s.Close() })
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))

	ctx := context.Background()
	client := s.Client().(*redis.ClusterClient)
	nodes := map[string]bool{}
	for i := 0; len(nodes) < len(addrs) && i < 1000; i++ {
		key := "k" + strconv.Itoa(i)
		node, err := client.MasterForKey(ctx, prefix+key)
		require.NoError(t, err)
		if nodes[node.Options().Addr] {
			continue
		}
		nodes[node.Options().Addr] = true
		require.NoError(t, s.Set(ctx, key, []byte("1"), time.Minute))
		ev.waitFor(t, "a key on "+node.Options().Addr, sawKey(key))
	}
	require.Len(t, nodes, len(addrs), "keys on every master")
}

// TestWatchSurvivesClientKill: a killed session is reported lost, and the
// watch is established again.
func TestWatchSurvivesClientKill(t *testing.T) {
	t.Parallel()
	addr := testutil.RedisAddr(t)
	name := "watch-test-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	client := redis.NewClient(&redis.Options{Addr: addr, ClientName: name, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = client.Close() })
	s := redisstore.Must(redisstore.Options{Client: client, Prefix: uniquePrefix(t)})
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))

	killed := testutil.KillRedisClients(t, addr, name+"-caching-near")
	require.Equal(t, 1, killed)
	ev.waitFor(t, "the loss and the return", func(e *events) bool {
		return len(e.states) >= 3 && e.watching
	})
	assert.Equal(t, []bool{true, false, true}, ev.states)
	require.NoError(t, s.Set(context.Background(), "after", []byte("1"), time.Minute))
	ev.waitFor(t, "a key after the return", sawKey("after"))
}

// TestWatchAcrossARestart: a server that stops is reported lost; once it is
// back, the watch is established again. A flush is reported as every key.
func TestWatchAcrossARestart(t *testing.T) {
	t.Parallel()
	srv, s, ev := watchOwnRedis(t, "")
	require.NoError(t, s.Client().FlushDB(context.Background()).Err())
	ev.waitFor(t, "the flush", func(e *events) bool { return e.flushes == 1 })

	srv.Stop()
	ev.waitFor(t, "the loss", watching(false))
	srv.Start()
	ev.waitFor(t, "the return", watching(true))
	require.NoError(t, s.Set(context.Background(), "after", []byte("1"), time.Minute))
	ev.waitFor(t, "a key after the return", sawKey("after"))
}

// TestWatchOnlyOnAMaster: a server that becomes a replica (a failover) ends
// the session at the next heartbeat, and is not watched until it is a
// master again.
func TestWatchOnlyOnAMaster(t *testing.T) {
	t.Parallel()
	_, s, ev := watchOwnRedis(t, "")
	other := startRedis(t, "")
	ctx := context.Background()
	host, port, _ := strings.Cut(other.Addr, ":")
	require.NoError(t, s.Client().Do(ctx, "REPLICAOF", host, port).Err())
	ev.waitFor(t, "the loss", watching(false))
	require.NoError(t, s.Client().Do(ctx, "REPLICAOF", "NO", "ONE").Err())
	ev.waitFor(t, "the return", watching(true))
}

// TestWatchReportsAFlushOfAnyDatabase: Redis's message of a flush does not
// say which database was flushed, so a FLUSHDB of another database of the
// server is reported as a flush of every key (the documents say so: a near
// cache empties its memory for it).
func TestWatchReportsAFlushOfAnyDatabase(t *testing.T) {
	t.Parallel()
	srv, _, ev := watchOwnRedis(t, "")
	other := redis.NewClient(&redis.Options{Addr: srv.Addr, DB: 7, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = other.Close() })
	require.NoError(t, other.FlushDB(context.Background()).Err())
	ev.waitFor(t, "the flush", func(e *events) bool { return e.flushes == 1 })
}

func TestWatchAuthenticatesAsTheClient(t *testing.T) {
	t.Parallel()
	_, s, ev := watchOwnRedis(t, "s3cret")
	require.NoError(t, s.Set(context.Background(), "k", []byte("1"), time.Minute))
	ev.waitFor(t, "a key", sawKey("k"))
}

// watchOwnRedis starts a Redis of the test's own (with password, if not
// empty) and a watch of a Store on it, and waits for the watch.
func watchOwnRedis(t *testing.T, password string) (*testutil.Process, *redisstore.Store, *events) {
	t.Helper()
	srv := startRedis(t, password)
	s := redisstore.Must(redisstore.Options{URL: "redis://:" + password + "@" + srv.Addr, Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = s.Close() })
	ev := watchStore(t, s)
	ev.waitFor(t, "the watch", watching(true))
	return srv, s, ev
}

func startRedis(t *testing.T, password string) *testutil.Process {
	dir := t.TempDir() // a replica of it writes the RDB it is sent, here
	return testutil.StartProcess(t, "redis-server", func(port int) []string {
		args := []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir}
		if password != "" {
			args = append(args, "--requirepass", password)
		}
		return args
	})
}

func TestWatchRefusesClientsItCannotFollow(t *testing.T) {
	ring := redis.NewRing(&redis.RingOptions{ContextTimeoutEnabled: true, Addrs: map[string]string{"a": "127.0.0.1:1"}})
	t.Cleanup(func() { _ = ring.Close() })
	s := redisstore.Must(redisstore.Options{Client: ring})
	_, err := s.WatchInvalidations(func([]string) {}, func(bool) {})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Ring")

	closed := redisstore.Must(redisstore.Options{URL: "redis://127.0.0.1:1"})
	require.NoError(t, closed.Close())
	_, err = closed.WatchInvalidations(func([]string) {}, func(bool) {})
	require.Error(t, err)
}

// TestWatchCloseStopsEverything: Close returns once the sessions are over,
// even while a server is unreachable, and nothing is reported after it.
func TestWatchCloseStopsEverything(t *testing.T) {
	t.Parallel()
	s := redisstore.Must(redisstore.Options{URL: "redis://127.0.0.1:" + strconv.Itoa(testutil.FreePort(t)), Prefix: uniquePrefix(t)})
	t.Cleanup(func() { _ = s.Close() })
	ev := newEvents()
	w, err := s.WatchInvalidations(ev.changed, ev.state)
	require.NoError(t, err)
	var closer io.Closer = w
	require.NoError(t, closer.Close())
	require.NoError(t, closer.Close())
	ev.mu.Lock()
	defer ev.mu.Unlock()
	assert.Empty(t, ev.states, fmt.Sprint("a watch of a dead server reported ", ev.states))
}
