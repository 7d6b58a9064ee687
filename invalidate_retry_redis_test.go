package caching_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching"
	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// pausableRedis returns a Cache, whose calls time out after timeout, on a
// Redis of the test's own, and a client of that Redis to pause it with
// (CLIENT PAUSE). Its breaker never opens: the retries meet Redis itself.
func pausableRedis(t *testing.T, timeout time.Duration) (*caching.Cache, *goredis.Client) {
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	c := caching.Must(&caching.Options{
		Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr}),
		Timeout: timeout,
		Breaker: caching.BreakerOptions{Threshold: 1000},
	})
	t.Cleanup(func() { c.Close() })
	admin := goredis.NewClient(&goredis.Options{Addr: srv.Addr})
	t.Cleanup(func() { admin.Close() })
	return c, admin
}

// TestInvalidateOnWriteRetriedOnRealRedis: on a Redis of the test's own
// that stops taking writes for a while (CLIENT PAUSE WRITE: reads go on, the
// data stays), a write's invalidation times out and waits for its retry
// (a read meanwhile runs the handler: the old response is never served
// again), and once Redis takes writes again the retried invalidation makes
// the next read run the handler.
func TestInvalidateOnWriteRetriedOnRealRedis(t *testing.T) {
	c, admin := pausableRedis(t, 200*time.Millisecond)
	reads := 0
	view := c.Cached(time.Hour, caching.InvalidateOnWrite(), caching.CacheStatusHeader("X-Cache"))
	mux := http.NewServeMux()
	mux.Handle("GET /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads++
		w.Write([]byte("item v" + strconv.Itoa(reads)))
	})))
	mux.Handle("POST /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	})))
	do := func(method string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(method, "/items/1", nil))
		return w
	}

	do(http.MethodGet)
	if w := do(http.MethodGet); w.Header().Get("X-Cache") != "HIT" || w.Body.String() != "item v1" {
		t.Fatalf("before the pause: %s %q, want a HIT of v1", w.Header().Get("X-Cache"), w.Body.String())
	}
	if err := admin.Do(t.Context(), "CLIENT", "PAUSE", "1500", "WRITE").Err(); err != nil {
		t.Fatal(err)
	}
	if w := do(http.MethodPost); w.Code != http.StatusNoContent {
		t.Fatalf("the write answered %d while Redis took no writes", w.Code)
	}
	if n := c.Stats().PendingInvalidations; n != 1 {
		t.Fatalf("PendingInvalidations = %d after the failed invalidation, want 1", n)
	}
	deadline := time.Now().Add(15 * time.Second)
	for c.Stats().PendingInvalidations != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the invalidation was not retried after Redis took writes again")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if w := do(http.MethodGet); w.Body.String() != "item v2" {
		t.Fatalf("after the pause the read served %q (%s), want the handler's v2", w.Body.String(), w.Header().Get("X-Cache"))
	}
}

// TestInvalidationRetriedAsSoonAsRedisAnswers: an InvalidatePath that fails
// while a Redis of the test's own answers nothing (CLIENT PAUSE ALL) waits
// in the retry set, whose retries back off meanwhile. Once Redis answers
// again, the first read it answers (a miss, which runs the handler: the
// invalidation waits) retries the invalidation at once: the old response is
// not served, neither then nor for the rest of the back-off.
func TestInvalidationRetriedAsSoonAsRedisAnswers(t *testing.T) {
	c, admin := pausableRedis(t, 100*time.Millisecond)
	reads := 0
	h := c.Cached(time.Hour, caching.CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads++
		w.Write([]byte("item v" + strconv.Itoa(reads)))
	}))
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/items/1", nil))
		return w
	}
	get()
	require.Equal(t, "HIT", get().Header().Get("X-Cache"))

	const outage = 1500 * time.Millisecond
	require.NoError(t, admin.Do(t.Context(), "CLIENT", "PAUSE", outage.Milliseconds(), "ALL").Err())
	back := time.Now().Add(outage)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, c.InvalidatePath(ctx, "/items/1"), "the invalidation succeeded during the outage")
	// Retries fail about 0.3, 0.6 and 1.1s into the outage; without a
	// wake-up the next waits until about 1.9s.
	time.Sleep(time.Until(back))

	var firstStale, lastStale time.Time
	for deadline := time.Now().Add(5 * time.Second); reads < 2 && time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if w := get(); w.Header().Get("X-Cache") == "HIT" && w.Body.String() == "item v1" {
			if firstStale.IsZero() {
				firstStale = time.Now()
			}
			lastStale = time.Now()
		}
	}
	require.Equal(t, 2, reads, "the handler never ran again after the outage")
	assert.Less(t, lastStale.Sub(firstStale), 150*time.Millisecond,
		"the invalidated response was served after Redis answered again")
}
