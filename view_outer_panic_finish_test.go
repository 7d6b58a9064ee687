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

// writePanicWriter is an outer ResponseWriter whose Write panics (a
// middleware that breaks on the body): the status passes it, and the
// body's first bytes, which the view's recorder holds until the handler
// returned, make it panic in Recorder.Finish.
type writePanicWriter struct{ *httptest.ResponseRecorder }

func (w *writePanicWriter) Write([]byte) (int, error) { panic("outer Write broke") }

// lookups is the number of requests Stats counted, each once.
func lookups(s Stats) int64 { return s.Hits + s.StaleHits + s.Misses + s.Bypasses }

// TestOuterWriterPanicAtFinishCountsAndReleases: where the writer outside
// the view panics as the view's recorder writes the response below it
// (Recorder.Finish, after the handler returned), the request was counted
// nowhere in Stats, and the waiters of its flight, released with nothing,
// each ran the handler. The request counts once, as a miss, and the
// waiters elect a new leader, as when a leader's client left: one run
// answers them.
func TestOuterWriterPanicAtFinishCountsAndReleases(t *testing.T) {
	outerPanicReleasesForRetry(t, "outer Write broke", func() http.ResponseWriter {
		return &writePanicWriter{ResponseRecorder: httptest.NewRecorder()}
	})
}

// outerPanicReleasesForRetry checks that a leader whose writer outside the
// view (outer) panics with want leaves its flight to a new leader, whose
// one run answers the waiters, and that each request counts once.
func outerPanicReleasesForRetry(t *testing.T, want any, outer func() http.ResponseWriter) {
	t.Helper()
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

				const waiters = 3
				leader, got := leadWithWaiters(gate, waiters, func() any { return servePanic(h, outer()) },
					func() *httptest.ResponseRecorder { return get(h, "/page") })
				assert.Equal(t, want, leader, "the outer writer's panic reaches the caller")
				for i, w := range got {
					require.Equal(t, http.StatusOK, w.Code, "waiter %d", i)
					assert.Equal(t, "page", w.Body.String(), "waiter %d", i)
				}
				assert.Equal(t, int64(2), runs.Load(), "the waiters shared one run of a new leader")
				s := c.Stats()
				assert.Equal(t, int64(1+waiters), lookups(s), "each request counted once: %+v", s)
				assert.Equal(t, int64(2), s.Misses, "the leader's request and its successor's are misses")
			})
		})
	}
}

// TestOuterWriterPanicAtFinishCountsHead: a HEAD whose run may be answered
// by a stale entry (runHead) is counted once, as a miss, where the writer
// outside the view panics as the recorder writes the status below; it was
// counted nowhere.
func TestOuterWriterPanicAtFinishCountsHead(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=10")
			if r.Method != http.MethodHead {
				_, _ = w.Write([]byte("page"))
			} // else nothing: Finish commits the implicit 200 below
		})
		h := c.Cached(10*time.Second, StaleIfError(time.Minute))(next)
		require.Equal(t, "page", get(h, "/page").Body.String())
		time.Sleep(15 * time.Second) // stale: a HEAD runs the handler, the entry its fallback
		before := lookups(c.Stats())

		p := func() (p any) {
			defer func() { p = recover() }()
			w := &detachPanicWriter{ResponseRecorder: httptest.NewRecorder()}
			h.ServeHTTP(w, httptest.NewRequest(http.MethodHead, "/page", nil))
			return nil
		}()
		assert.Equal(t, "outer WriteHeader broke", p, "the outer writer's panic reaches the caller")
		assert.Equal(t, before+1, lookups(c.Stats()), "the HEAD counted once")
	})
}
