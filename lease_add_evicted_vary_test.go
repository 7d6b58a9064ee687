package caching

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseAddAfterVaryRecordEvictedRunsTheStaleVariant (two processes on
// the real Redis): a page varies on Accept-Language; its "de" variant was
// stored long ago, stale (StaleIf). Process A's run of "en" read the Vary
// record listing "de"; the record left the store meanwhile (evicted:
// Redis maxmemory, memcached's LRU) while the "de" entry stayed. Process B
// misses "de": no record, no variant to look at. A's run stores the record
// again (the one it read, with "en" added) and releases its lease; B's Add,
// made after that, succeeds, and B looks again: the record now leads it to
// the old "de" entry, under another key than B's miss read. That counted as
// stored since the miss, the answer of a run, and B served it (a HIT of a
// stale response the handler would not make now). No run of B's key was
// seen: B now runs the handler.
func TestLeaseAddAfterVaryRecordEvictedRunsTheStaleVariant(t *testing.T) {
	addr := testutil.RedisAddr(t)
	prefix := "caching-test:" + t.Name() + ":" + time.Now().Format("150405.000000") + ":"
	open := func() (*Cache, *pausedLeaseAdd) {
		s, err := redisstore.New(redisstore.Options{URL: "redis://" + addr + "/0?" + testutil.SlowRedisQuery, Prefix: prefix})
		require.NoError(t, err)
		b := &pausedLeaseAdd{Store: s, entered: make(chan struct{}), released: make(chan struct{})}
		c := Must(&Options{Backend: b, Lease: time.Minute})
		t.Cleanup(func() { _ = c.Clear(context.Background()); _ = c.Close() })
		return c, b
	}
	a, _ := open()
	b, bB := open()
	gate := make(chan struct{})
	h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Accept-Language")
		switch {
		case r.Header.Get("X-Old") != "":
			w.Header().Set("X-Degraded", "1")
		case r.Header.Get("Accept-Language") == "en":
			<-gate
		}
	}}
	opts := []ViewOption{CacheStatusHeader("X-Cache"),
		StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" })}
	va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)

	// The old "de" entry, stale, and its Vary record.
	w := get(va, "/p", "Accept-Language", "de", "X-Old", "1")
	require.Equal(t, "page #1", w.Body.String())
	ctx := context.Background()
	rdb := bB.Client()
	keys, err := rdb.Keys(ctx, prefix+b.prefix+"v/*").Result()
	require.NoError(t, err)
	var record string
	for _, k := range keys {
		if !strings.Contains(k, "#vary:") {
			record = k
		}
	}
	require.NotEmpty(t, record, "the Vary record in %v", keys)
	require.Len(t, keys, 2, "the record and the de variant")

	// A's run of "en", which found the record listing "de".
	enDone := make(chan string, 1)
	go func() { enDone <- get(va, "/p", "Accept-Language", "en").Body.String() }()
	require.Eventually(t, func() bool { return h.calls.Load() == 2 }, 5*time.Second, time.Millisecond)
	require.NoError(t, rdb.Del(ctx, record).Err()) // evicted meanwhile
	// B misses "de" (no record); its Add waits until A's run is over.
	bB.hold.Store(true)
	deDone := make(chan *http.Response, 1)
	go func() { deDone <- get(vb, "/p", "Accept-Language", "de").Result() }()
	<-bB.entered
	close(gate)
	require.Equal(t, "page #2", <-enDone)
	require.Eventually(t, func() bool {
		keys, err := rdb.Keys(ctx, prefix+a.prefix+kindLease+"*").Result()
		return err == nil && len(keys) == 0
	}, 5*time.Second, time.Millisecond, "A released its lease")
	n, err := rdb.Exists(ctx, record).Result()
	require.NoError(t, err)
	require.EqualValues(t, 1, n, "A stored the Vary record again, with de as its miss read it")
	close(bB.released)
	res := <-deDone
	body := new(strings.Builder)
	_, _ = io.Copy(body, res.Body)
	assert.Equal(t, "page #3", body.String(), "B served the old stale de entry (%s) as the answer of A's en run", res.Header.Get("X-Cache"))
	assert.EqualValues(t, 3, h.calls.Load())
}
