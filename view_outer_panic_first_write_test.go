package caching

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestOuterWriterPanicAtFirstWriteReleasesForRetry: where the writer
// outside the view panics as the handler's first write commits the status
// below it (its WriteHeader), the panic, raised in the handler, was taken
// for the handler's own: the waiters of the flight were told to run on
// their own, and each ran the handler. The writer below broke, as when the
// client leaves: the waiters elect a new leader, whose one run answers
// them.
func TestOuterWriterPanicAtFirstWriteReleasesForRetry(t *testing.T) {
	outerPanicReleasesForRetry(t, "outer WriteHeader broke", func() http.ResponseWriter {
		return &detachPanicWriter{ResponseRecorder: httptest.NewRecorder()}
	})
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
		const waiters = 3
		leader, _ := leadWithWaiters(gate, waiters, func() any { return servePanic(h, httptest.NewRecorder()) },
			func() *httptest.ResponseRecorder { return get(h, "/page") })
		assert.Equal(t, "handler broke", leader)
		assert.Equal(t, int64(1+waiters), runs.Load(), "each waiter ran on its own")
	})
}
