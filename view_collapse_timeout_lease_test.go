package caching

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCollapseTimeoutLeaseHolderGoneOneRun: under Lease, without
// CollapseTimeout, the request that leads a process's misses waits for
// another process's lease as long as the lease, then runs the handler
// itself when that process is gone (crashed, hung); the requests waiting
// for it in its process get its response. Before, they waited as long as
// the lease too, from about when the leader began to wait: they gave up
// as the leader's own run began, and each ran the handler, a herd of every
// waiter of the key at the moment the lease's holder was given up on.
func TestCollapseTimeoutLeaseHolderGoneOneRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int32
		h := c.Cached(time.Hour, Lease(20*time.Second), CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			time.Sleep(time.Second) // fake time: the handler's work
			_, _ = w.Write([]byte{'0' + byte(n)})
		}))
		key, err := c.ViewKey(httptest.NewRequest(http.MethodGet, "/a", nil))
		require.NoError(t, err)
		// Another process took the lease and is gone.
		require.NoError(t, c.store.b.Set(t.Context(), c.leaseKey(key), leaseHeldValue, time.Hour))

		var wg sync.WaitGroup
		var lw, ww *httptest.ResponseRecorder
		wg.Go(func() { lw = get(h, "/a") })
		synctest.Wait() // the leader polls the lease
		wg.Go(func() { ww = get(h, "/a") })
		wg.Wait()
		assert.EqualValues(t, 1, runs.Load(), "one run in this process")
		assert.Equal(t, "1", lw.Body.String())
		assert.Equal(t, "1", ww.Body.String(), "the waiter got the leader's response")
		assert.Equal(t, "HIT", ww.Header().Get("X-Cache"))
		assert.Zero(t, c.Stats().CollapseTimeouts)
	})
}
