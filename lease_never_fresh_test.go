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
	"github.com/stretchr/testify/require"
)

// TestLeaseNeverFreshReleasesOtherProcessesAtCommit: a SharedCache
// response stored to be revalidated before every reuse (no-cache, or
// max-age=0 with an ETag) answers no waiter. Its run's lease is marked "not
// stored" as soon as its header tells so, not when the run ends: the
// requests another process made meanwhile run their own handler at once,
// while the first run still streams its body, and do not take the lease
// in turn. (The first run of a key not yet stored is still waited for
// until its header: nothing tells earlier that its response answers
// nobody; once stored, such an entry's misses take no lease at all.)
func TestLeaseNeverFreshReleasesOtherProcessesAtCommit(t *testing.T) {
	for _, cc := range []string{"no-cache", "public, max-age=0"} {
		t.Run(cc, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a, b, _ := leasePair(t, Options{Lease: time.Minute})
				end := make(chan struct{})
				defer func() {
					select {
					case <-end:
					default:
						close(end) // after a failed require
					}
				}()
				var calls, running, overlapped atomic.Int32
				h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
					n := calls.Add(1)
					if running.Add(1) > 1 {
						overlapped.Add(1)
					}
					defer running.Add(-1)
					w.Header().Set("Cache-Control", cc)
					w.Header().Set("ETag", `"v1"`)
					w.WriteHeader(http.StatusOK)
					fmt.Fprintf(w, "run %d\n", n)
					w.(http.Flusher).Flush()
					if n == 1 {
						<-end // the first run's body goes on
					}
				})
				va := a.Cached(time.Hour, SharedCache())(h)
				vb := b.Cached(time.Hour, SharedCache())(h)

				first := make(chan *httptest.ResponseRecorder, 1)
				go func() { first <- get(va, "/page") }()
				synctest.Wait() // a's run holds the lease, its header sent, its body not ended
				require.EqualValues(t, 1, calls.Load())

				const n = 3
				others := getAll(vb, "/page", n)
				time.Sleep(time.Second) // b's leader reads the lease (polls)
				synctest.Wait()
				require.EqualValues(t, 1+n, calls.Load(), "b's requests waited for the end of a's run")
				assert.EqualValues(t, n, overlapped.Load(), "b's runs ran beside a's")
				assert.LessOrEqual(t, b.Stats().LeaseWaits, int64(1), "b's requests took the lease in turn")
				assert.Zero(t, b.Stats().LeaseTimeouts)
				close(end)
				for _, w := range others() {
					assert.Regexp(t, `^run [2-4]\n$`, w.Body.String())
				}
				assert.Equal(t, "run 1\n", (<-first).Body.String())
			})
		})
	}
}
