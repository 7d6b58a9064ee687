package caching

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// hostEnv is a view env whose Cache has HostScopedWrites set as asked.
func hostEnv(t *testing.T, k storeKind, scoped bool) *viewEnv {
	t.Helper()
	clock := testutil.NewClock()
	c, store := k.open(t, nil, clock, Options{HostScopedWrites: scoped})
	t.Cleanup(func() { c.Close() })
	return &viewEnv{c: c, clock: clock, store: store}
}

// hostRoutes is a mux of a proxy for several hosts: reads of /items/{id}
// through one view, writes through another (a write must reach the reads
// of every view), and an IgnoreHost view of /shared/{id}.
func hostRoutes(e *viewEnv, reads, shared *counter) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("GET /items/{id}", e.c.Cached(time.Hour)(reads))
	mux.Handle("GET /shared/{id}", e.c.Cached(time.Hour, IgnoreHost())(shared))
	mux.Handle("/", e.c.Cached(time.Hour, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("answer") == "location" {
			w.Header().Set("Location", "/items/9")
			w.Header().Set("Content-Location", "http://b.example/items/8")
		}
		w.WriteHeader(http.StatusCreated)
	})))
	return mux
}

// TestHostScopedWrites is RFC 9111 section 4.4 for a cache in front of
// several hosts: under Options.HostScopedWrites a write invalidates its
// host's responses only.
func TestHostScopedWrites(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		e := hostEnv(t, k, true)
		reads, shared := &counter{body: "r"}, &counter{body: "s"}
		mux := hostRoutes(e, reads, shared)
		// runs reports how many times reads ran for the GETs of targets.
		runs := func(targets ...string) int64 {
			before := reads.calls.Load()
			for _, target := range targets {
				require.Equal(t, http.StatusOK, get(mux, target).Code, target)
			}
			return reads.calls.Load() - before
		}
		a, b := "http://a.example/items/1", "http://b.example/items/1"
		require.EqualValues(t, 2, runs(a, b, a, b), "one run per host, then hits")

		send(mux, http.MethodPost, a)
		assert.EqualValues(t, 1, runs(a, b), "a write to a.example leaves b.example's page")
		send(mux, http.MethodDelete, b)
		assert.EqualValues(t, 1, runs(a, b), "and the other way round")

		for _, spelling := range []string{"http://A.EXAMPLE/items/1", "http://a.example:80/items/1", "https://a.example:443/items/1", "http://a.example:443/items/1"} {
			require.EqualValues(t, 0, runs(a, b))
			send(mux, http.MethodPut, spelling)
			assert.EqualValues(t, 1, runs(a, b), "%s is a.example's origin", spelling)
		}
		// Behind a proxy that terminates TLS, a client that spelled the
		// default port reaches the handler as http://a.example:443.
		a443 := "http://a.example:443/items/1"
		require.EqualValues(t, 1, runs(a443, a443), "its own entry (the key keeps the Host as sent)")
		send(mux, http.MethodPost, a)
		assert.EqualValues(t, 2, runs(a443, a, b), "a write to a.example reaches it, and a.example's own")
		send(mux, http.MethodPut, "http://a.example:8080/items/1")
		assert.EqualValues(t, 0, runs(a, b), "another port is another origin")
		require.EqualValues(t, 1, runs("http://a.example:8080/items/1"))
		send(mux, http.MethodPut, a)
		assert.EqualValues(t, 1, runs(a, b, "http://a.example:8080/items/1"), "and its entries are its own")

		// Location and Content-Location: the same host only.
		a9, b9, b8 := "http://a.example/items/9", "http://b.example/items/9", "http://b.example/items/8"
		require.EqualValues(t, 3, runs(a9, b9, b8, a9, b9, b8))
		send(mux, http.MethodPost, "http://a.example/orders?answer=location")
		assert.EqualValues(t, 1, runs(a9, b9, b8), "a.example's Location only; never another host's Content-Location")

		// An IgnoreHost view serves every host: any host's write reaches it.
		sa, sb := "http://a.example/shared/1", "http://b.example/shared/1"
		get(mux, sa)
		get(mux, sb)
		require.EqualValues(t, 1, shared.calls.Load(), "one entry for both hosts")
		send(mux, http.MethodPatch, "http://b.example/shared/1")
		get(mux, sa)
		assert.EqualValues(t, 2, shared.calls.Load(), "b.example's write reaches the entry a.example reads")

		// InvalidatePath still reaches every host.
		require.EqualValues(t, 0, runs(a, b))
		require.NoError(t, e.c.InvalidatePath(context.Background(), "/items/1"))
		assert.EqualValues(t, 2, runs(a, b), "InvalidatePath: every host")

		// Host version keys expire as the path's do: four times the
		// entries' life.
		hk := e.c.hostPathTagKey("a.example", "/items/1")
		require.True(t, liveKey(t, e.store, hk), "the entry's host key is there")
		e.clock.Advance(4*time.Hour + time.Second)
		assert.False(t, liveKey(t, e.store, hk), "and expires")
	})
}

// runsAfterWrite stores /items/1 of a.example and b.example through
// hostRoutes on e, POSTs to a.example's, reads both again, and returns how
// many of those two reads ran the handler.
func runsAfterWrite(t *testing.T, e *viewEnv) int64 {
	t.Helper()
	reads := &counter{body: "r"}
	mux := hostRoutes(e, reads, &counter{body: "s"})
	a, b := "http://a.example/items/1", "http://b.example/items/1"
	for _, target := range []string{a, b, a, b} {
		get(mux, target)
	}
	require.EqualValues(t, 2, reads.calls.Load(), "one run per host, then hits")
	send(mux, http.MethodPost, a)
	get(mux, a)
	get(mux, b)
	return reads.calls.Load() - 2
}

// TestWritesReachEveryHostByDefault: without HostScopedWrites a write
// invalidates its path on every host (one site under several names).
func TestWritesReachEveryHostByDefault(t *testing.T) {
	forEachViewStore(t, func(t *testing.T, k storeKind) {
		assert.EqualValues(t, 2, runsAfterWrite(t, hostEnv(t, k, false)), "both hosts' pages are misses")
	})
}

// TestHostPathTagKey: a host cannot spell another host's key, nor a path's.
func TestHostPathTagKey(t *testing.T) {
	c := Must(&Options{KeyPrefix: "x:"})
	defer c.Close()
	assert.Equal(t, "x:h/a.example#/p", c.hostPathTagKey("a.example", "/p"))
	assert.Equal(t, "x:h/#/p", c.hostPathTagKey("", "/p"))
	assert.NotEqual(t, c.hostPathTagKey("a#/b", "/p"), c.hostPathTagKey("a", "/b#/p"), "a '#' in a host is escaped")
	long := c.hostPathTagKey("a.example", "/"+string(make([]byte, 4096)))
	assert.Less(t, len(long), 400, "a long key is shortened")
	assert.True(t, c.store.isPathTag(long), "and expires as a path's")
	r, _ := http.NewRequest(http.MethodGet, "https://Shop.Example:443/x", nil)
	r.TLS = nil // a proxy that terminates TLS sends it on over HTTP
	assert.Equal(t, "shop.example", originHost(r), "443 dropped whatever the scheme")
}

// TestHostScopedWritesOnRedis: the same on a real Redis, where the host's
// version key is read in the entry's round trip, and expires.
func TestHostScopedWritesOnRedis(t *testing.T) {
	ctx := context.Background()
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	b, err := redisstore.New(redisstore.Options{URL: testutil.SlowRedisURL(t, 0), Prefix: prefix})
	require.NoError(t, err)
	c, err := New(&Options{Backend: b, HostScopedWrites: true, Timeout: testutil.SlowTimeout})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Clear(ctx); _ = c.Close() })
	assert.EqualValues(t, 1, runsAfterWrite(t, &viewEnv{c: c}), "a.example's write leaves b.example's page")

	keys, err := b.Client().Keys(ctx, prefix+"*").Result()
	require.NoError(t, err)
	hostKeys := 0
	for _, k := range keys {
		if strings.Contains(k, kindHost) {
			hostKeys++
		}
		ttl, err := b.Client().PTTL(ctx, k).Result()
		require.NoError(t, err)
		assert.True(t, ttl > 0 && ttl <= 4*time.Hour, "%s: ttl %v", k, ttl)
	}
	assert.Equal(t, 2, hostKeys, "a version key per host")
}
