package caching

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSharedHitForPassRefusedAtCommit: a 200 that a SharedCache view's
// recorder refuses at commit on its own, ahead of the policy's Check (one
// that declares a Trailer, a text/event-stream), is refused for what it is, as a private one is; but
// the hit-for-pass mark read a status only Check records, and never marked
// the key: the next conditional requests ran without their validators, one
// at a time (each waited for the other's run), and the origin never saw
// the validators. The mark now judges the status the response committed
// with: the next conditional requests reach the handler with their
// validators, at once, neither waiting for the other.
func TestSharedHitForPassRefusedAtCommit(t *testing.T) {
	for _, refusal := range []string{"private", "Trailer", "event-stream"} {
		t.Run(refusal, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var seen, running, runs atomic.Int64
				hold := make(chan struct{})
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.Header.Get("If-None-Match") != "" {
						seen.Add(1)
					}
					if runs.Add(1) > 1 {
						running.Add(1)
						<-hold // the conditional requests' runs, until both run or wait
					}
					w.Header().Set("ETag", `"v1"`)
					switch refusal {
					case "private":
						w.Header().Set("Cache-Control", "private")
					case "Trailer":
						w.Header().Set("Trailer", "X-Checksum")
					case "event-stream":
						w.Header().Set("Content-Type", "text/event-stream")
					}
					_, _ = io.WriteString(w, "body")
					if refusal == "Trailer" {
						w.Header().Set("X-Checksum", "1")
					}
				})
				c := Must(&Options{Backend: newSimple(t, nil)})
				defer c.Close()
				view := c.Cached(time.Hour, SharedCache())(h)

				first := get(view, "/p")
				require.Equal(t, http.StatusOK, first.Code)
				require.Equal(t, "body", first.Body.String())
				assert.Zero(t, seen.Load())

				const requests = 2
				answers := make(chan int, requests)
				for range requests {
					go func() {
						req := httptest.NewRequest(http.MethodGet, "/p", nil)
						req.Header.Set("If-None-Match", `"v1"`)
						rec := httptest.NewRecorder()
						view.ServeHTTP(rec, req)
						answers <- rec.Code
					}()
				}
				synctest.Wait() // both requests run, or one waits for the other
				assert.Equal(t, int64(requests), running.Load(), "the marked key's conditional requests run at once, neither waits for the other")
				close(hold)
				for range requests {
					assert.Equal(t, http.StatusNotModified, <-answers, "the client holds the response (its ETag)")
				}
				assert.Equal(t, int64(requests), seen.Load(), "the marked key's revalidations reach the handler with their validators")
			})
		})
	}
}
