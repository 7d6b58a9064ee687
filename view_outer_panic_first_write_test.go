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
	"github.com/stretchr/testify/require"
)

// TestOuterWriterPanicAtFirstWriteReleasesForRetry: where the writer
// outside the view panics as the handler's first write commits the status
// below it (its WriteHeader), the panic, raised in the handler, was taken
// for the handler's own: the waiters of the flight were told to run on
// their own, and each ran the handler. The writer below broke, as when the
// client leaves: the waiters elect a new leader, whose one run answers
// them.
func TestOuterWriterPanicAtFirstWriteReleasesForRetry(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				gate := make(chan struct{})
				next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					if runs.Add(1) == 1 {
						<-gate // the waiters join its flight meanwhile
					}
					w.Header().Set("Cache-Control", "max-age=60")
					_, _ = w.Write([]byte("page"))
				})
				var opts []ViewOption
				if shared {
					opts = append(opts, SharedCache())
				}
				h := c.Cached(time.Minute, opts...)(next)

				leader := make(chan any, 1)
				go func() {
					defer func() { leader <- recover() }()
					w := &detachPanicWriter{ResponseRecorder: httptest.NewRecorder()}
					h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/page", nil))
				}()
				synctest.Wait() // the leader's handler waits at the gate
				const waiters = 3
				var wg sync.WaitGroup
				got := make([]*httptest.ResponseRecorder, waiters)
				for i := range waiters {
					wg.Go(func() { got[i] = get(h, "/page") })
				}
				synctest.Wait() // the waiters wait for the leader's run
				close(gate)
				assert.Equal(t, "outer WriteHeader broke", <-leader, "the outer writer's panic reaches the caller")
				wg.Wait()
				for i, w := range got {
					require.Equal(t, http.StatusOK, w.Code, "waiter %d", i)
					assert.Equal(t, "page", w.Body.String(), "waiter %d", i)
				}
				assert.Equal(t, int64(2), runs.Load(), "the waiters shared one run of a new leader")
				assert.Equal(t, int64(1+waiters), lookups(c.Stats()), "each request counted once")
			})
		})
	}
}

// TestHandlerPanicStillReleasesWaitersToRunAlone: a panic of the handler's
// own (not of the writer below) still tells the waiters to run on their
// own: the new flag tells the two apart.
func TestHandlerPanicStillReleasesWaitersToRunAlone(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		gate := make(chan struct{})
		next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if runs.Add(1) == 1 {
				<-gate
				w.Header().Set("Cache-Control", "max-age=60")
				_, _ = w.Write([]byte("pa"))
				panic("handler broke")
			}
			w.Header().Set("Cache-Control", "max-age=60")
			_, _ = w.Write([]byte("page"))
		})
		h := c.Cached(time.Minute)(next)
		leader := make(chan any, 1)
		go func() {
			defer func() { leader <- recover() }()
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/page", nil))
		}()
		synctest.Wait()
		const waiters = 3
		var wg sync.WaitGroup
		for range waiters {
			wg.Go(func() { get(h, "/page") })
		}
		synctest.Wait()
		close(gate)
		assert.Equal(t, "handler broke", <-leader)
		wg.Wait()
		assert.Equal(t, int64(1+waiters), runs.Load(), "each waiter ran on its own")
	})
}
