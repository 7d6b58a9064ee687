package caching

import (
	"context"
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

// TestLeaderLeftErrorKeepsNewLeadersEntry: the run of a leader whose client
// left goes on while a new leader's run stores the page. When the abandoned
// run then answers a status that is not stored (a 404, a 499 for the client
// that left, a 503), the path version key it created must stay: deleted,
// it takes the new leader's entry with it, and the next request runs the
// handler again.
func TestLeaderLeftErrorKeepsNewLeadersEntry(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, 499, http.StatusServiceUnavailable} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				finish := make(chan struct{})
				var first atomic.Bool
				h := &counter{body: "page", fn: func(w http.ResponseWriter, r *http.Request) {
					if first.CompareAndSwap(false, true) {
						<-finish
						w.WriteHeader(status)
					}
				}}
				view := c.Cached(time.Minute, CacheStatusHeader("X-Cache"))(h)

				ctx, hangUp := context.WithCancel(context.Background())
				var wg sync.WaitGroup
				wg.Go(func() {
					r := httptest.NewRequest(http.MethodGet, "/popular", nil).WithContext(ctx)
					view.ServeHTTP(httptest.NewRecorder(), r)
				})
				synctest.Wait() // the leader runs the handler, having created the path key
				got := make(chan *httptest.ResponseRecorder, 1)
				wg.Go(func() { got <- get(view, "/popular") })
				synctest.Wait() // a waiter waits for its run
				hangUp()        // the leader's client leaves
				synctest.Wait()
				assert.Equal(t, "page #2", (<-got).Body.String(), "the new leader's run")
				close(finish) // the abandoned run answers an error
				wg.Wait()
				w := get(view, "/popular")
				assert.Equal(t, "page #2", w.Body.String(), "X-Cache %s", w.Header().Get("X-Cache"))
				assert.Equal(t, int64(2), h.calls.Load(), "the new leader's entry was lost")
			})
		})
	}
}
