package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAbandonedRevalidation304KeepsNewerEntry: the leader of a
// SharedCache revalidation whose client leaves releases its waiters at once
// (releaseIfLeft); one of them revalidates again, gets the origin's new
// representation and stores it. The abandoned run then ends with the 304 it
// computed from the old state: notModified freshened the old entry and
// stored it over the newer one (the 200 path checked the context, the 304
// path did not), and everyone got the old body as a fresh HIT for the
// entry's whole lifetime. A 304 made after the context ended is not stored.
func TestAbandonedRevalidation304KeepsNewerEntry(t *testing.T) {
	e := newViewEnv(t, viewStores[0])
	var version atomic.Value
	version.Store("A")
	var n atomic.Int64
	started := make(chan struct{})
	unblock := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		call := n.Add(1)
		etag := `"` + version.Load().(string) + `"`
		if call == 2 { // X: reads its data, then is slow, ignoring the cancellation
			close(started)
			<-unblock
		}
		w.Header().Set("Cache-Control", "max-age=10, stale-if-error=600")
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("body " + etag))
	})
	ch := e.sharedView(h)
	require.Equal(t, `body "A"`, get(ch, "/a").Body.String())
	e.clock.Advance(20 * time.Second)

	ctx, leave := context.WithCancel(context.Background())
	defer leave()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // X, the leader of the revalidation
		defer wg.Done()
		r := httptest.NewRequest(http.MethodGet, "/a", nil).WithContext(ctx)
		ch.ServeHTTP(httptest.NewRecorder(), r)
	}()
	<-started
	var wy *httptest.ResponseRecorder
	go func() { // Y waits for X's run
		defer wg.Done()
		wy = get(ch, "/a")
	}()
	time.Sleep(100 * time.Millisecond)
	version.Store("B") // the resource changes
	leave()            // X's client leaves: Y leads, revalidates, stores B
	deadline := time.Now().Add(5 * time.Second)
	for n.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	require.EqualValues(t, 3, n.Load(), "Y ran its own revalidation")
	assert.Equal(t, `"B"`, get(ch, "/a").Header().Get("ETag"), "B is stored")
	close(unblock) // X's abandoned handler ends with its 304 for A
	wg.Wait()
	require.Equal(t, `body "B"`, wy.Body.String())
	w := get(ch, "/a")
	assert.Equal(t, `body "B"`, w.Body.String(),
		"the abandoned run's 304 put the old body back as %s (origin serves B)", w.Header().Get("X-Cache"))
}
