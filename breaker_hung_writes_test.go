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

	"github.com/go-caching/caching/backend"
)

// hungWrites is a remote store whose reads and adds answer at once and
// whose Sets hang until their context ends: a backend that is slow to take
// large values, say.
// ended counts the Sets that returned, each once its context ended.
type hungWrites struct {
	backend.Backend
	sets, ended atomic.Int64
}

func (h *hungWrites) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	h.sets.Add(1)
	<-ctx.Done()
	h.ended.Add(1)
	return ctx.Err()
}

// TestBreakerOpensOnHungWrites: a view's miss stores its response before the
// client gets it, so a hung Set cost each miss the whole Options.Timeout.
// The breaker never stopped it: each miss's own reads (its lookup and the
// read of its path version) succeeded between two failed Sets and reset the
// count of consecutive failures, so every miss, forever, waited
// Options.Timeout longer than without a cache. Now the failures of writes
// are counted apart from the successes of reads: Threshold misses pay the
// timeout, then the breaker opens; after its cool-down, the probe (a read)
// closes it only on probation, and the first hung Set opens it again.
func TestBreakerOpensOnHungWrites(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 500 * time.Millisecond
		c := Must(&Options{Backend: &hungWrites{Backend: newSimple(t, nil)}, Timeout: timeout})
		defer c.Close()
		view := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) }))
		misses := func(from, n int) (slow int) {
			for i := range n {
				start := time.Now()
				w := httptest.NewRecorder()
				view.ServeHTTP(w, httptest.NewRequest(http.MethodGet, fmt.Sprint("/p/", from+i), nil))
				require.Equal(t, "page", w.Body.String())
				if time.Since(start) >= timeout {
					slow++
				}
			}
			return slow
		}
		assert.Equal(t, 5, misses(0, 50), "the default Threshold of misses wait for a hung Set, then none")
		assert.Equal(t, "open", c.Stats().Breaker)

		time.Sleep(time.Second) // the default cool-down ends
		assert.Equal(t, 1, misses(50, 50), "after the cool-down, one miss waits for a hung Set, then none")
		assert.Equal(t, "open", c.Stats().Breaker)
	})
}

// TestBreakerHungWritesReachTheClient: the same over real HTTP: every
// client got its miss's response only once the hung Set timed out. A
// client waited for one when a hung Set ended while its request ran: the
// requests run one at a time, and a Set ends only with its context.
func TestBreakerHungWritesReachTheClient(t *testing.T) {
	h := &hungWrites{Backend: newSimple(t, nil)}
	c := Must(&Options{Backend: h, Timeout: 100 * time.Millisecond, Breaker: BreakerOptions{Cooldown: time.Hour}})
	defer c.Close()
	srv := httptest.NewServer(c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) })))
	defer srv.Close()
	waited := 0
	for i := range 20 {
		ended := h.ended.Load()
		resp, err := srv.Client().Get(fmt.Sprint(srv.URL, "/p/", i))
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		require.Equal(t, http.StatusOK, resp.StatusCode)
		if h.ended.Load() != ended {
			waited++
		}
	}
	assert.EqualValues(t, 5, h.sets.Load(), "the breaker opens after the default Threshold of hung Sets")
	assert.Equal(t, 5, waited, "clients whose response waited for a hung Set to time out")
	assert.Equal(t, "open", c.Stats().Breaker)
}
