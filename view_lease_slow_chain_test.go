package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestViewLeaseSlowHandlerIsStored: a page whose handler runs longer than
// the lease (1.5 d), asked for in two processes in turn, each request
// coming while the last run goes on. Each holder ended past its lease
// while the next one, which took the lease once it expired, held it, and
// stored nothing (view.newerSinceLease): the page was never stored, every
// request ran the handler, for as long as requests came. A holder past
// its lease now stores its response (see also
// TestViewLeaseSlowHandlerSpacedRequestsIsStored, with no waiter).
func TestViewLeaseSlowHandlerIsStored(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const d = time.Second
		a, b, _ := leasePair(t, Options{Lease: d})
		var runs atomic.Int32
		handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			n := runs.Add(1)
			time.Sleep(d + d/2) // slower than the lease
			w.Header().Set("Cache-Control", "public, max-age=600")
			_, _ = fmt.Fprintf(w, "run %d", n)
		})
		h := [2]http.Handler{a.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler), b.Cached(time.Hour, CacheStatusHeader("X-Cache"))(handler)}
		var wg sync.WaitGroup
		var out [8]*httptest.ResponseRecorder
		for i := range out {
			if i > 0 {
				time.Sleep(d/2 + time.Duration(i%2)*d/2 + 100*time.Millisecond)
			}
			wg.Go(func() { out[i] = get(h[i%2], "/p") })
		}
		wg.Wait()
		for i, w := range out[4:] {
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"), "request %d", 4+i)
		}
		assert.LessOrEqual(t, runs.Load(), int32(4), "handler runs for 8 requests")
	})
}
