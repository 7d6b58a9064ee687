package caching

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestPartialLeaderErrorHandsOn pins a decision: a leader that asked with
// Range (or If-Match, A-IM) and got a refused status that is not its
// request's own answer (a 500) still hands its waiters on to a new leader,
// rather than tell each to run on its own as a plain leader's 500 does.
// The failure may be its Range's alone (a handler that breaks on it): the
// plain waiters then share one run. Where the handler fails for them too,
// the hand-on costs no run: the new leader's run is one of those they
// would each have made (1+waiters runs either way), only later.
func TestPartialLeaderErrorHandsOn(t *testing.T) {
	for _, failing := range []bool{false, true} {
		t.Run(fmt.Sprintf("plain fails=%v", failing), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				gate := make(chan struct{})
				next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					runs.Add(1)
					<-gate
					if failing || r.Header.Get("Range") != "" {
						http.Error(w, "broke", http.StatusInternalServerError)
						return
					}
					w.Header().Set("Cache-Control", "max-age=60")
					_, _ = w.Write([]byte("page"))
				})
				h := c.Cached(time.Minute)(next)
				const waiters = 3
				leader, got := leadWithWaiters(gate, waiters,
					func() *httptest.ResponseRecorder { return get(h, "/page", "Range", "bytes=0-1") },
					func() *httptest.ResponseRecorder { return get(h, "/page") })
				assert.Equal(t, http.StatusInternalServerError, leader.Code)
				want, runsWant := http.StatusOK, int64(2)
				if failing {
					want, runsWant = http.StatusInternalServerError, 1+waiters
				}
				for i, w := range got {
					assert.Equal(t, want, w.Code, "waiter %d", i)
				}
				assert.Equal(t, runsWant, runs.Load())
			})
		})
	}
}
