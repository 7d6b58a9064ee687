package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redisstore "github.com/go-caching/caching/backend/redis"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseAddOtherKeepsTheLease: process B's request refuses stale
// responses (HonorRequestCacheControl, min-fresh). It missed while process
// A's run held the lease; A's run stored a response StaleIf declares stale
// and released the lease before B's Add was made, so B's Add succeeded.
// That entry answers the others but not B's request: B runs its handler.
// It must do so under the lease it just took, so that process C, whose
// plain request misses meanwhile (the entry is stale), waits for B's run
// and is answered by it, rather than find the lease free and run the
// handler a third time.
func TestLeaseAddOtherKeepsTheLease(t *testing.T) {
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
	c, _ := open()

	openA, openB := make(chan struct{}), make(chan struct{})
	h := &counter{body: "page"}
	var runs atomic.Int64
	h.fn = func(w http.ResponseWriter, _ *http.Request) {
		switch runs.Add(1) {
		case 1: // A's: stale on arrival
			<-openA
			w.Header().Set("X-Degraded", "1")
		case 2: // B's
			<-openB
		}
	}
	opts := []ViewOption{CacheStatusHeader("X-Cache"), HonorRequestCacheControl(),
		StaleIf(func(r *Response) bool { return r.Header.Get("X-Degraded") != "" })}
	va, vb, vc := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h), c.Cached(time.Hour, opts...)(h)

	first := getAll(va, "/p", 1)
	require.Eventually(t, func() bool { return runs.Load() == 1 }, 5*time.Second, time.Millisecond)
	bB.hold.Store(true)
	fromB := make(chan string, 1)
	go func() { fromB <- get(vb, "/p", "Cache-Control", "min-fresh=1").Body.String() }()
	<-bB.entered // B missed, and its Add is on its way
	close(openA)
	assert.Equal(t, "page #1", first()[0].Body.String())
	leases := prefix + a.prefix + kindLease + "*"
	require.Eventually(t, func() bool {
		keys, err := bB.Client().Keys(context.Background(), leases).Result()
		return err == nil && len(keys) == 0
	}, 5*time.Second, time.Millisecond)
	close(bB.released) // B's Add succeeds: the lease is free
	require.Eventually(t, func() bool { return runs.Load() == 2 }, 5*time.Second, time.Millisecond, "B runs its handler")

	// C misses while B's run is in progress: it waits for it, or runs.
	fromC := make(chan *httptest.ResponseRecorder, 1)
	go func() { fromC <- get(vc, "/p") }()
	require.Eventually(t, func() bool { return c.Stats().LeaseWaits == 1 || runs.Load() == 3 }, 5*time.Second, time.Millisecond)
	assert.EqualValues(t, 2, runs.Load(), "C ran the handler while B's run was in progress: B gave up the lease it took")
	close(openB)
	assert.Equal(t, "page #2", <-fromB)
	w := <-fromC
	assert.Equal(t, "page #2", w.Body.String(), "C is answered by B's run")
	assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
	assert.EqualValues(t, 2, runs.Load())
}
