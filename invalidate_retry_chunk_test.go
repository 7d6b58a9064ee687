package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// perKeyDelete is a remote store whose Delete takes perKey for each key:
// memcached, which has no multi-key delete (backend/memcached makes one
// round trip per key, 8 at a time), or any store across a slower link.
type perKeyDelete struct {
	remote
	perKey time.Duration
}

func (s *perKeyDelete) Delete(ctx context.Context, keys ...string) error {
	if err := s.call(); err != nil {
		return err
	}
	t := time.NewTimer(time.Duration(len(keys)) * s.perKey)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	return s.Backend.Delete(ctx, keys...)
}

// TestRetrySetDrainsInChunks: the retry of failed invalidations deletes
// every pending key in one call bounded by one Options.Timeout
// (retryInvalidations: store.bound around store.invalidate of the whole
// set). When that many keys take longer than Timeout to delete (2,000 keys
// on memcached at 0.8 ms a round trip, 8 in flight, with Timeout 100 ms),
// the retry fails every time, for ever, once the backend is back and
// healthy: no key ever leaves the set, so every path in it is never served
// from the cache again (each lookup of it is a miss) until the process
// restarts, and every failed retry counts as a failed Delete for the
// breaker, which so opens for everyone every few seconds (a third of a
// minute's requests here were served uncached by the open breaker).
func TestRetrySetDrainsInChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &perKeyDelete{remote: remote{Backend: newSimple(t, nil)}, perKey: 100 * time.Microsecond}
		c := Must(&Options{Backend: store, Timeout: 100 * time.Millisecond})
		defer c.Close()
		h := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("page"))
		}))

		// An outage: a bulk job invalidates 2,000 product pages.
		store.fail.Store(true)
		paths := make([]string, 2000)
		for i := range paths {
			paths[i] = fmt.Sprint("/products/", i)
		}
		require.Error(t, c.InvalidatePath(context.Background(), paths...))
		require.EqualValues(t, 2000, c.Stats().PendingInvalidations)

		// The backend is back, healthy, for a minute of traffic.
		store.fail.Store(false)
		for i := range 600 {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, fmt.Sprint("/other/", i%10), nil))
			time.Sleep(100 * time.Millisecond)
		}

		assert.Zero(t, c.Stats().Unavailable, "the failed retries opened the breaker for everyone")

		assert.Zero(t, c.Stats().PendingInvalidations, "the retry never deleted the keys of a healthy backend")
		serve := func() string {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/products/7", nil))
			return w.Header().Get("X-Cache")
		}
		serve()
		assert.Equal(t, "HIT", serve(), "a page whose invalidation failed once is never cached again")
	})
}

// downAgain is a perKeyDelete whose backend goes down again once as many
// Deletes as deletes holds have succeeded.
type downAgain struct {
	perKeyDelete
	deletes atomic.Int64 // Deletes left before the backend goes down
}

func (s *downAgain) Delete(ctx context.Context, keys ...string) error {
	if s.deletes.Add(-1) < 0 {
		s.fail.Store(true)
	}
	return s.perKeyDelete.Delete(ctx, keys...)
}

// TestRetryKeepsDeletedChunks: a retry that deleted some of the waiting keys
// before the backend went down again has those keys out of the set (their
// paths are cached again once it is back), rather than deleting them all
// again in one call that fails as a whole.
func TestRetryKeepsDeletedChunks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := &downAgain{perKeyDelete: perKeyDelete{remote: remote{Backend: newSimple(t, nil)}, perKey: 100 * time.Microsecond}}
		c := Must(&Options{Backend: store, Timeout: 100 * time.Millisecond})
		defer c.Close()

		store.fail.Store(true)
		paths := make([]string, 2000)
		for i := range paths {
			paths[i] = fmt.Sprint("/products/", i)
		}
		require.Error(t, c.InvalidatePath(context.Background(), paths...))
		require.EqualValues(t, 2000, c.Stats().PendingInvalidations)

		// The backend answers one delete, then is down again.
		store.deletes.Store(1)
		store.fail.Store(false)
		time.Sleep(time.Second)
		synctest.Wait()

		n := c.Stats().PendingInvalidations
		assert.Less(t, n, int64(2000), "the keys the retry deleted still wait")
		assert.Positive(t, n, "keys the backend did not delete left the set")
	})
}
