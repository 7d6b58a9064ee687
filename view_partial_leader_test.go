package caching

import (
	"bytes"
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

// partialOrigin serves body as http.ServeContent does (a 206 for a Range,
// a 412 for a failed If-Match or If-Unmodified-Since, a 200 for a failed
// If-Range), and a 226 for an A-IM, cacheable for a minute; each run waits
// for gate, and counts in runs.
func partialOrigin(body []byte, gate <-chan struct{}, runs *atomic.Int64) http.Handler {
	modified := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		runs.Add(1)
		<-gate
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("A-IM") != "" {
			w.WriteHeader(http.StatusIMUsed)
			_, _ = w.Write([]byte("delta"))
			return
		}
		http.ServeContent(w, r, "", modified, bytes.NewReader(body))
	})
}

// partialView is the view of c over partialOrigin, with SharedCache when
// shared, and opts.
func partialView(c *Cache, shared bool, body []byte, gate <-chan struct{}, runs *atomic.Int64, opts ...ViewOption) http.Handler {
	if shared {
		opts = append(opts, SharedCache())
	}
	return c.Cached(time.Minute, opts...)(partialOrigin(body, gate, runs))
}

// partialRequests are requests whose handler's answer is theirs alone (a
// 206, a 412, a 226): never stored.
var partialRequests = []struct {
	name   string
	header []string
	status int
}{
	{"Range", []string{"Range", "bytes=0-3"}, http.StatusPartialContent},
	{"If-Match", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
	{"If-Unmodified-Since", []string{"If-Unmodified-Since", "Thu, 01 Jan 2015 00:00:00 GMT"}, http.StatusPreconditionFailed},
	{"A-IM", []string{"A-IM", "vcdiff"}, http.StatusIMUsed},
}

// TestPartialRequestLeadsNoFlight: a miss led by a request the handler
// answers for it alone (a Range's 206, a failed If-Match's or
// If-Unmodified-Since's 412, an A-IM's 226) stored nothing, and the plain
// requests that had waited for its run then each ran the handler: one run
// per waiter, where their own leader's would have answered them all. Its
// answer hands the flight on: the plain requests share a run of their own.
func TestPartialRequestLeadsNoFlight(t *testing.T) {
	body := []byte("0123456789")
	for _, shared := range []bool{false, true} {
		for _, pr := range partialRequests {
			t.Run(fmt.Sprintf("shared=%v/%s", shared, pr.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					gate := make(chan struct{})
					h := partialView(c, shared, body, gate, &runs)

					first, got := leadWithWaiters(gate, 3, func() *httptest.ResponseRecorder { return get(h, "/file", pr.header...) },
						func() *httptest.ResponseRecorder { return get(h, "/file") })
					assert.Equal(t, pr.status, first.Code, "the first request's own answer")
					for i, w := range got {
						require.Equal(t, http.StatusOK, w.Code, "plain request %d", i)
						assert.Equal(t, body, w.Body.Bytes(), "plain request %d", i)
					}
					assert.Equal(t, int64(2), runs.Load(), "the plain requests shared one run")
				})
			})
		}
	}
}

// TestPartialRequestJoinsPlainRun: a request the handler would answer for
// it alone, coming while a plain request's run is in progress, waits for
// it and is answered with its response, as a hit would answer it: the
// whole 200 in a view without SharedCache (which answers no Range or
// precondition from an entry), its range in a SharedCache view.
func TestPartialRequestJoinsPlainRun(t *testing.T) {
	body := []byte("0123456789")
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				gate := make(chan struct{})
				h := partialView(c, shared, body, gate, &runs)
				first := make(chan *httptest.ResponseRecorder, 1)
				go func() { first <- get(h, "/file") }()
				synctest.Wait()
				ranged := make(chan *httptest.ResponseRecorder, 1)
				go func() { ranged <- get(h, "/file", "Range", "bytes=0-3") }()
				synctest.Wait()
				close(gate)
				assert.Equal(t, body, (<-first).Body.Bytes())
				w := <-ranged
				if shared {
					assert.Equal(t, http.StatusPartialContent, w.Code)
					assert.Equal(t, "0123", w.Body.String())
				} else {
					assert.Equal(t, http.StatusOK, w.Code)
					assert.Equal(t, body, w.Body.Bytes())
				}
				assert.Equal(t, int64(1), runs.Load(), "one run answered both")
			})
		})
	}
}
