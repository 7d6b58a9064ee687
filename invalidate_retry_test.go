package caching

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// writeEnv is a Cache on a remote store that can fail, with one view that
// serves reads of /items/{id} and invalidates on writes to them.
type writeEnv struct {
	c      *Cache
	r      *remote
	mux    *http.ServeMux
	reads  *counter
	writes *counter
	logs   *bytes.Buffer
}

func newWriteEnv(t *testing.T) *writeEnv {
	e := &writeEnv{r: &remote{Backend: newSimple(t, nil)}, reads: &counter{body: "item"}, writes: &counter{}, logs: new(bytes.Buffer)}
	// A breaker that never opens here: the retries meet the backend itself.
	e.c = Must(&Options{Backend: e.r, Logger: slog.New(slog.NewTextHandler(e.logs, nil)), Breaker: BreakerOptions{Threshold: 1 << 30}})
	t.Cleanup(func() { e.c.Close() })
	view := e.c.Cached(time.Hour, InvalidateOnWrite())
	e.mux = http.NewServeMux()
	e.mux.Handle("GET /items/{id}", view(e.reads))
	e.mux.Handle("POST /items/{id}", view(e.writes))
	return e
}

// TestInvalidateOnWriteRetriedAfterOutage: a write whose invalidation failed
// because the backend was down does not leave the old response to be served
// once the backend is back: the invalidation is retried until it answers.
func TestInvalidateOnWriteRetriedAfterOutage(t *testing.T) {
	e := newWriteEnv(t)
	get(e.mux, "/items/1")
	get(e.mux, "/items/1")
	require.EqualValues(t, 1, e.reads.calls.Load(), "the second read is a hit")

	e.r.fail.Store(true)
	assert.Equal(t, http.StatusOK, send(e.mux, http.MethodPost, "/items/1").Code, "the write is answered")
	assert.EqualValues(t, 1, e.c.Stats().PendingInvalidations, "its invalidation waits")
	e.r.fail.Store(false)

	require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 5*time.Second, 5*time.Millisecond,
		"the invalidation is retried once the backend answers")
	get(e.mux, "/items/1")
	assert.EqualValues(t, 2, e.reads.calls.Load(), "the read after the outage runs the handler: the old response is gone")
}

// TestInvalidateOnWriteRetryKeepsTrying: retries that fail keep the
// invalidation waiting, backing off, until one succeeds; writes during the
// outage add their paths once each.
func TestInvalidateOnWriteRetryKeepsTrying(t *testing.T) {
	e := newWriteEnv(t)
	for _, p := range []string{"/items/1", "/items/2"} {
		get(e.mux, p)
	}
	e.r.fail.Store(true)
	for range 3 {
		send(e.mux, http.MethodPost, "/items/1")
	}
	send(e.mux, http.MethodPost, "/items/2")
	assert.EqualValues(t, 2, e.c.Stats().PendingInvalidations, "one per path")
	trips := e.r.trips.Load()
	require.Eventually(t, func() bool { return e.r.trips.Load() >= trips+2 }, 5*time.Second, 5*time.Millisecond, "retried")
	assert.EqualValues(t, 2, e.c.Stats().PendingInvalidations, "still waiting while the backend fails")

	e.r.fail.Store(false)
	require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 10*time.Second, 5*time.Millisecond)
	for _, p := range []string{"/items/1", "/items/2"} {
		get(e.mux, p)
	}
	assert.EqualValues(t, 4, e.reads.calls.Load(), "both paths invalidated")
}

// TestInvalidateOnWriteRetryBounded: writes to ever new paths during an
// outage cannot grow the retry set without bound; the ones past it are
// counted as errors, and logged once.
func TestInvalidateOnWriteRetryBounded(t *testing.T) {
	e := newWriteEnv(t)
	e.r.fail.Store(true)
	errs := e.c.Stats().Errors
	for i := range maxPendingInvalidations + 10 {
		send(e.mux, http.MethodPost, fmt.Sprint("/items/", i))
	}
	s := e.c.Stats()
	assert.EqualValues(t, maxPendingInvalidations, s.PendingInvalidations)
	assert.GreaterOrEqual(t, s.Errors-errs, int64(maxPendingInvalidations+10), "every failed invalidation is an error")
	assert.Equal(t, 1, strings.Count(e.logs.String(), "retry set full"), "logged once: %s", e.logs.String())
}

// TestInvalidateOnWriteRetryEndsWithClose: Close stops the retries and
// drops what waits; nothing starts after it.
func TestInvalidateOnWriteRetryEndsWithClose(t *testing.T) {
	e := newWriteEnv(t)
	e.r.fail.Store(true)
	send(e.mux, http.MethodPost, "/items/1")
	require.EqualValues(t, 1, e.c.Stats().PendingInvalidations)
	require.NoError(t, e.c.Close())
	e.c.background.wait()
	assert.EqualValues(t, 0, e.c.Stats().PendingInvalidations, "dropped with the Cache")
	e.c.retryInvalidation("test", []string{"k"}, errDown)
	assert.False(t, e.c.store.pending.running, "no retry starts after Close")
	assert.EqualValues(t, 0, e.c.Stats().PendingInvalidations, "nothing waits after Close")
	assert.False(t, strings.Contains(e.logs.String(), "panic"))
}

// TestInvalidationRetriedAsSoonAsTheBackendAnswers: once the retries have
// backed off, the first read that the backend answers again retries the
// waiting invalidation at once, rather than at the end of the back-off,
// during which the read after it would have been a hit of the response
// the invalidation ends.
func TestInvalidationRetriedAsSoonAsTheBackendAnswers(t *testing.T) {
	e := newWriteEnv(t)
	get(e.mux, "/items/1")
	e.r.fail.Store(true)
	send(e.mux, http.MethodPost, "/items/1")
	require.EqualValues(t, 1, e.c.Stats().PendingInvalidations)
	trips := e.r.trips.Load()
	// Six retries fail, 100ms to 3.2s apart (6.3s in all): the next one
	// waits retryMax (5s). So long a back-off that no stall of a loaded
	// machine makes the wake-up's retry come after it, nor a broken
	// wake-up's retry before the bound below.
	require.Eventually(t, func() bool { return e.r.trips.Load() >= trips+6 }, 60*time.Second, time.Millisecond)
	// And the goroutine waits again, for the wake-up or the back-off: a
	// read that the backend answers before then (the sixth retry's trip is
	// counted as it is made, and a loaded machine may run the read before
	// the goroutine has taken the retry's failure) wakes nothing, and the
	// retry comes at the end of the back-off.
	require.Eventually(t, func() bool { return e.c.store.wake.armed.Load() }, 5*time.Second, time.Millisecond)

	e.r.fail.Store(false)
	// The backend answers: a miss (the invalidation waits), which runs the
	// handler and stores its response under the version to be deleted.
	get(e.mux, "/items/1")
	require.EqualValues(t, 2, e.reads.calls.Load(), "the read as the backend answers runs the handler")
	// The back-off's next retry is 5s after the sixth, which came before
	// the goroutine armed the wake-up: within 4s, the retry is the
	// wake-up's (a 500ms bound against an 800ms back-off failed on a
	// loaded machine).
	require.Eventually(t, func() bool { return e.c.Stats().PendingInvalidations == 0 }, 4*time.Second, time.Millisecond,
		"the invalidation waited for the end of its back-off")
	// The read after the retry gets a response made after the backend
	// answered again: the handler runs (the response above was stored
	// under the version the retry deleted), or, when that run read the
	// versions after the retry had landed, it is a hit of that response.
	// Never the response of before the write.
	w := get(e.mux, "/items/1")
	assert.NotEqual(t, "item #1", w.Body.String(), "the response the invalidation ended")
	assert.Contains(t, []string{"item #2", "item #3"}, w.Body.String())
}

// deletesDown is a remote store that answers every call but deletes.
type deletesDown struct {
	*remote
	deletes atomic.Int64
}

func (d *deletesDown) Delete(context.Context, ...string) error {
	d.deletes.Add(1)
	return errDown
}

// TestInvalidationRetriesBackOffWhileOnlyDeletesFail: reads that the
// backend answers wake a waiting retry, but when the backend answers reads
// and not deletes, the retries still back off: a busy service does not
// retry once per read. The reads run in a synctest bubble, one a
// millisecond for a second of its clock: a thousand reads, however slow the
// machine, against the back-off's timer on the same clock.
func TestInvalidationRetriesBackOffWhileOnlyDeletesFail(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		b := &deletesDown{remote: &remote{Backend: newSimple(t, nil)}}
		c := Must(&Options{Backend: b, Breaker: BreakerOptions{Threshold: 1 << 30}})
		defer c.Close()
		require.NoError(t, c.Set(ctx, "k", []byte("v"), time.Hour, Tags("t")))
		require.Error(t, c.InvalidateTags(ctx, "t"))

		for range 1000 {
			_, _ = c.Get(ctx, "k")
			time.Sleep(time.Millisecond)
		}
		// The back-off alone retries 3 times in a second (after 100, 200 and
		// 400ms); a wake-up at most once per wait adds as many.
		assert.LessOrEqual(t, b.deletes.Load()-1, int64(6), "retries in a second of reads")
		assert.EqualValues(t, 1, c.Stats().PendingInvalidations)
	})
}
