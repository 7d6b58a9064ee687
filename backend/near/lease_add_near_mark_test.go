package near_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	"github.com/go-caching/caching/backend/near"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// noNews is a Redis store whose watch is established but never reports a
// changed key: the news of other processes' writes has not come yet.
type noNews struct{ *redisstore.Store }

func (r noNews) WatchInvalidations(_ func([]string), state func(bool)) (io.Closer, error) {
	return r.Store.WatchInvalidations(func([]string) {}, state)
}

// openNoNews opens two simulated processes on the real Redis under one
// prefix, each with its own client, near cache and Cache (Lease 1 min): A,
// with the news of other processes' writes, and B, with none (its watch
// never reports a change) and a MaxStale of an hour.
func openNoNews(t *testing.T, name string) (a, b *caching.Cache) {
	addr := testutil.RedisAddr(t)
	prefix := fmt.Sprintf("near-lease-add-mark-%s-%d", name, time.Now().UnixNano())
	open := func(news bool) *caching.Cache {
		client := redis.NewClient(&redis.Options{Addr: addr, ContextTimeoutEnabled: true})
		remote, err := redisstore.New(redisstore.Options{Client: client, Prefix: prefix})
		require.NoError(t, err)
		var ns *near.Store
		if news {
			ns, err = near.New(remote, near.Options{})
		} else {
			ns, err = near.New(noNews{remote}, near.Options{MaxStale: time.Hour})
		}
		require.NoError(t, err)
		c, err := caching.New(&caching.Options{Backend: ns, Lease: time.Minute})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, ns.WaitWatching(ctx))
		t.Cleanup(func() {
			_ = c.Clear(context.Background())
			_ = c.Close()
			_ = client.Close()
		})
		return c
	}
	return open(true), open(false)
}

// TestLeaseAddAfterNearCopyRunsTheWork: process B keeps in memory a result
// StaleIf declares stale; process A computes it again, also stale, and B
// has no news of that write. B's call, with no run in progress anywhere,
// misses on its memory's copy, takes the lease and looks the entry up
// remote: it finds A's result, stored before B's call began, which differs
// from B's memory's copy only because B's memory is behind. That is no
// result of a run B waited for: B must run the function (the handler), not
// serve A's stale result as a hit. Memoize and views.
func TestLeaseAddAfterNearCopyRunsTheWork(t *testing.T) {
	ctx := context.Background()
	t.Run("memoize", func(t *testing.T) {
		a, b := openNoNews(t, "memoize")
		var runs atomic.Int64
		fn := func(context.Context, string) (string, error) {
			n := runs.Add(1)
			if n <= 2 {
				return fmt.Sprintf("degraded #%d", n), nil
			}
			return fmt.Sprintf("ok #%d", n), nil
		}
		opts := []caching.MemoOption{caching.TTL(time.Hour),
			caching.StaleIf(func(v string) bool { return strings.HasPrefix(v, "degraded") })}
		ma, mb := caching.Memoize(a, "f", fn, opts...), caching.Memoize(b, "f", fn, opts...)
		got, err := ma.Get(ctx, "x")
		require.NoError(t, err)
		require.Equal(t, "degraded #1", got)
		_, fresh, err := mb.Peek(ctx, "x") // B keeps "degraded #1" in memory
		require.NoError(t, err)
		require.False(t, fresh)
		got, err = ma.Get(ctx, "x") // stale: A runs again, B hears nothing of it
		require.NoError(t, err)
		require.Equal(t, "degraded #2", got)
		// A's lease is released after its call returned: Close waits for
		// it. Else B's call may find it held still, as if it came while
		// A's run went on, and take A's result for that run's answer.
		require.NoError(t, a.Close())

		got, err = mb.Get(ctx, "x")
		require.NoError(t, err)
		assert.Equal(t, "ok #3", got, "B took the stale result stored before its call for the answer of a run it waited for")
		assert.EqualValues(t, 3, runs.Load())
	})
	t.Run("view", func(t *testing.T) {
		a, b := openNoNews(t, "view")
		var runs atomic.Int64
		h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			n := runs.Add(1)
			if n <= 2 {
				w.Header().Set("X-Degraded", "1")
			}
			fmt.Fprintf(w, "page #%d", n)
		})
		opts := []caching.ViewOption{caching.CacheStatusHeader("X-Cache"),
			caching.StaleIf(func(r *caching.Response) bool { return r.Header.Get("X-Degraded") != "" })}
		va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)
		get := func(h http.Handler) *httptest.ResponseRecorder {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p", nil))
			return w
		}
		require.Equal(t, "page #1", get(va).Body.String())
		_, fresh, err := b.Peek(httptest.NewRequest(http.MethodGet, "/p", nil), opts...) // B keeps page #1 in memory
		require.NoError(t, err)
		require.False(t, fresh)
		require.Equal(t, "page #2", get(va).Body.String()) // stale: A runs again, B hears nothing of it
		require.NoError(t, a.Close())                      // its lease's release, made after its response (as above)

		w := get(vb)
		assert.Equal(t, "page #3", w.Body.String(), "B served the stale page stored before its request for the answer of a run it waited for")
		assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
		assert.EqualValues(t, 3, runs.Load())
	})
}
