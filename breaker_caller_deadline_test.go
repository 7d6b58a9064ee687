package caching

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// hungReads is a remote store whose reads hang until their context ends.
type hungReads struct{ backend.Backend }

func (h hungReads) Get(ctx context.Context, key string) ([]byte, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}

// TestBreakerCallerDeadlineIsNotAFailure: a call that the caller's own
// context deadline ended (a client with a short deadline, a handler under
// http.TimeoutHandler) was counted as a failure of the backend, like one
// that Options.Timeout ended: a few such callers opened the breaker, and
// every other request was served uncached for a cool-down. Only
// Options.Timeout says the backend is too slow.
func TestBreakerCallerDeadlineIsNotAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 500 * time.Millisecond
		c := Must(&Options{Backend: hungReads{newSimple(t, nil)}, Timeout: timeout,
			Breaker: BreakerOptions{Threshold: 2, Cooldown: time.Hour}})
		defer c.Close()
		view := c.Cached(time.Minute)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("page")) }))
		short := func() context.Context {
			ctx, cancel := context.WithTimeout(t.Context(), timeout/10)
			t.Cleanup(cancel)
			return ctx
		}
		for range 5 {
			_, err := c.Get(short(), "k")
			require.ErrorIs(t, err, context.DeadlineExceeded, "the direct API, under the caller's deadline")
			w := httptest.NewRecorder()
			view.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p", nil).WithContext(short()))
			require.Equal(t, "page", w.Body.String(), "a view, under the client's deadline")
		}
		assert.Equal(t, "closed", c.Stats().Breaker, "callers' deadlines say nothing of the backend")

		for range 2 { // no deadline of the caller's: Options.Timeout ends the reads
			w := httptest.NewRecorder()
			view.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/p", nil))
			require.Equal(t, "page", w.Body.String())
		}
		assert.Equal(t, "open", c.Stats().Breaker, "Options.Timeout is a failure")
	})
}
