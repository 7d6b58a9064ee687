package caching

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A request made after a write whose invalidation failed (and waits for its
// retry) that joins a handler run begun before the write is not served that
// run's response: the version keys the failed delete left in place still
// read as current, so the waiter also asks the retry set whether one of its
// keys was added since the run began.
func TestPendingInvalidationViewWaiterAfterFailedWrite(t *testing.T) {
	for _, fail := range []bool{false, true} {
		name := "invalidation-ok"
		if fail {
			name = "invalidation-failed"
		}
		t.Run(name, func(t *testing.T) {
			r := &flakyDeletes{remote: &remote{Backend: newSimple(t, nil)}}
			c := Must(&Options{Backend: r, Breaker: BreakerOptions{Threshold: 1 << 30}})
			t.Cleanup(func() { c.Close() })
			var data atomic.Int64
			data.Store(1)
			gate := make(chan struct{})
			started := make(chan struct{}, 1)
			view := c.Cached(time.Hour, InvalidateOnWrite(), CacheStatusHeader("X-Cache"))
			mux := http.NewServeMux()
			mux.Handle("GET /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				v := data.Load() // read before the write...
				select {
				case started <- struct{}{}:
					<-gate // ...answered after it
				default:
				}
				w.Write([]byte{byte('0' + v)})
			})))
			mux.Handle("POST /items/{id}", view(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				data.Store(2)
				w.WriteHeader(http.StatusNoContent)
			})))

			leader := make(chan *httptest.ResponseRecorder)
			go func() { leader <- get(mux, "/items/1") }()
			<-started

			r.deletesDown.Store(fail)
			require.Equal(t, http.StatusNoContent, send(mux, http.MethodPost, "/items/1").Code)
			if fail { // reads are answered; the retry's deletes keep failing
				require.EqualValues(t, 1, c.Stats().PendingInvalidations)
			}

			// A request made after the write returned.
			waiter := make(chan *httptest.ResponseRecorder)
			go func() { waiter <- get(mux, "/items/1") }()
			time.Sleep(200 * time.Millisecond) // it joins the leader's run
			close(gate)
			<-leader
			w := <-waiter
			assert.Equal(t, "2", w.Body.String(), "a request made after the write (X-Cache %s) got the response from before it", w.Header().Get("X-Cache"))
		})
	}
}
