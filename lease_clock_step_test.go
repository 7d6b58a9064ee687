package caching

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/testutil"
)

// TestLeaseWaiterStaleAfterWallClockSteppedBack: a SharedCache request of
// one Cache that waited for another's run under the lease, on one
// in-process store, compared the wall clock with the entry's end of
// freshness to tell whether the entry that run stored was still fresh. Read
// with the wall clock an hour behind the writer's, an entry past its
// max-age by the time elapsed since its write (its freshness, its Age)
// was taken as a fresh late answer, a HIT, where the request runs its own
// handler (as a waiter in the run's own process does with a stale
// response). The waiter now counts the time since the write too.
func TestLeaseWaiterStaleAfterWallClockSteppedBack(t *testing.T) {
	base := time.Now()
	store := simple.Must(simple.Options{SweepInterval: -1})
	open := func(clock func() time.Time) *Cache {
		c := Must(&Options{Backend: store, Lease: time.Minute, Clock: clock})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// The writer reads the wall clock an hour ahead; the waiter reads it
	// as stepped back an hour, 20 seconds later: past the max-age of 10.
	writerAt := testutil.Suspended(t, base, time.Hour)
	waiterAt := base.Add(20 * time.Second)
	a := open(func() time.Time { return writerAt })
	b := open(func() time.Time { return waiterAt })

	entered, release := make(chan struct{}, 2), make(chan struct{})
	h := &counter{body: "page", fn: func(w http.ResponseWriter, _ *http.Request) {
		entered <- struct{}{}
		<-release
		// Kept past its max-age (stale-if-error, StaleIfError), so
		// that the waiter finds it.
		w.Header().Set("Cache-Control", "public, max-age=10, stale-if-error=3600")
	}}
	opts := []ViewOption{SharedCache(), CacheStatusHeader("X-Cache"), StaleIfError(time.Hour)}
	va, vb := a.Cached(time.Hour, opts...)(h), b.Cached(time.Hour, opts...)(h)

	first := getAll(va, "/p", 1)
	<-entered // a's run holds the lease
	waiter := getAll(vb, "/p", 1)
	require.Eventually(t, func() bool { return b.Stats().LeaseWaits == 1 }, 5*time.Second, time.Millisecond,
		"b's request did not wait for a's lease")
	release <- struct{}{}
	assert.Equal(t, "page #1", first()[0].Body.String())
	go func() { // b's own run, once the entry is found stale
		if _, ok := <-entered; ok {
			release <- struct{}{}
		}
	}()
	w := waiter()[0]
	close(entered)
	assert.Equal(t, "page #2", w.Body.String(), "an entry past its max-age answered a waiter as fresh")
	assert.Equal(t, "MISS", w.Header().Get("X-Cache"))
	assert.EqualValues(t, 2, h.calls.Load())
}
