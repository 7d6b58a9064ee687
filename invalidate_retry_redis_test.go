package caching

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

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// pausableRedis returns a Cache, whose calls time out after timeout, on a
// Redis of the test's own, and a client of that Redis to pause it with
// (CLIENT PAUSE). Its breaker never opens: the retries meet Redis itself.
func pausableRedis(t *testing.T, timeout time.Duration) (*Cache, *goredis.Client) {
	srv := testutil.StartProcess(t, "redis-server", func(port int) []string {
		return []string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	})
	c := Must(&Options{
		Backend: redisstore.Must(redisstore.Options{URL: "redis://" + srv.Addr}),
		Timeout: timeout,
		Breaker: BreakerOptions{Threshold: 1000},
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
	view := c.Cached(time.Hour, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))
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

	body := readUntilHit(t, func() *httptest.ResponseRecorder { return do(http.MethodGet) })
	if want := "item v" + strconv.Itoa(reads); body != want {
		t.Fatalf("before the pause: a HIT of %q, want %q", body, want)
	}
	cached := reads
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
	if w, want := do(http.MethodGet), "item v"+strconv.Itoa(cached+1); w.Body.String() != want {
		t.Fatalf("after the pause the read served %q (%s), want the handler's %q", w.Body.String(), w.Header().Get("X-Cache"), want)
	}
}

// readUntilHit reads with get until a read is a HIT, and returns its body.
// A miss's store may time out on a loaded machine (the Cache's Timeout is
// short, for the outage the test makes), and then the next read misses too.
func readUntilHit(t *testing.T, get func() *httptest.ResponseRecorder) string {
	t.Helper()
	for i := 1; ; i++ {
		w := get()
		if w.Header().Get("X-Cache") == "HIT" {
			return w.Body.String()
		}
		if i == 20 {
			t.Fatalf("no HIT in %d reads (the last: %s %q)", i, w.Header().Get("X-Cache"), w.Body.String())
		}
	}
}

// setRetryFirst makes the retry goroutines that start during the test wait
// d before their first retry, and restores retryFirst when the test ends.
// A test that calls it must not be parallel.
func setRetryFirst(t *testing.T, d time.Duration) {
	was := retryFirst
	retryFirst = d
	t.Cleanup(func() { retryFirst = was })
}

// TestInvalidationRetriedAsSoonAsRedisAnswers: an InvalidatePath that fails
// while a Redis of the test's own answers nothing (CLIENT PAUSE ALL) waits
// in the retry set for its back-off. Once Redis answers again, the first
// read it answers (a miss, which runs the handler: the invalidation waits)
// retries the invalidation at once, not at the end of the back-off; the old
// response is never served.
//
// It used to check only that the old response was not served for more
// than 150ms, which it never is (a read of an entry whose invalidation
// waits is a miss): it passed with no wake-up at all. Then it bounded the
// retry to 1s against a back-off that ended 1.4s after the outage, which a
// loaded machine overran: now the back-off is a minute long, and the retry
// has half of it.
func TestInvalidationRetriedAsSoonAsRedisAnswers(t *testing.T) {
	const backOff = time.Minute
	setRetryFirst(t, backOff)
	// Calls time out after 300ms: those after the outage are answered in
	// time on a loaded machine.
	c, admin := pausableRedis(t, 300*time.Millisecond)
	reads := 0
	h := c.Cached(time.Hour, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads++
		w.Write([]byte("item v" + strconv.Itoa(reads)))
	}))
	get := func() *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/items/1", nil))
		return w
	}
	old := readUntilHit(t, get)

	const outage = time.Second
	require.NoError(t, admin.Do(t.Context(), "CLIENT", "PAUSE", outage.Milliseconds(), "ALL").Err())
	back := time.Now().Add(outage)
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	require.Error(t, c.InvalidatePath(ctx, "/items/1"), "the invalidation succeeded during the outage")
	// The retry goroutine waits for the back-off or a wake-up, armed for
	// the wake-up from its start.
	require.Eventually(t, func() bool { return c.store.wake.armed.Load() }, 5*time.Second, time.Millisecond,
		"the retry goroutine never waited for a wake-up")
	time.Sleep(time.Until(back))

	// Redis answers again. The reads it answers are misses (the
	// invalidation waits), which run the handler; the first wakes the
	// retry, which lands long before the back-off ends.
	deadline := time.Now().Add(backOff / 2)
	var stale int
	for c.Stats().PendingInvalidations != 0 && time.Now().Before(deadline) {
		if w := get(); w.Body.String() == old {
			stale++
		}
		time.Sleep(5 * time.Millisecond)
	}
	require.Zero(t, c.Stats().PendingInvalidations, "the invalidation waited for the end of its back-off")
	assert.Zero(t, stale, "reads served the response the invalidation ends")
	w := get()
	assert.NotEqual(t, old, w.Body.String(), "the response the invalidation ended (%s)", w.Header().Get("X-Cache"))
}
