package caching

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPartialBody200NotStored: a handler that answers a Range with a 200
// that carries Content-Range (a part of the body, whatever its status)
// makes a response for that request alone: neither stored nor handed to a
// plain request, which gets the whole body.
func TestPartialBody200NotStored(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			c := Must(nil)
			defer c.Close()
			h := contentRangeView(c, shared, "Range", nil, nil)
			get(h, "/f", "Range", "bytes=0-3")
			rr := get(h, "/f")
			assert.Equal(t, "0123456789", rr.Body.String())
		})
	}
}

// contentRangeView is a view of c, with SharedCache when shared, over a
// handler that answers a request with the field named partial with a 200
// that carries Content-Range and the first 4 of the 10 bytes the others
// get; each run counts in runs and waits for gate, when not nil.
func contentRangeView(c *Cache, shared bool, partial string, gate <-chan struct{}, runs *atomic.Int64) http.Handler {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if runs != nil {
			runs.Add(1)
		}
		if gate != nil {
			<-gate
		}
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get(partial) != "" {
			w.Header().Set("Content-Range", "bytes 0-3/10")
			_, _ = w.Write([]byte("0123"))
			return
		}
		_, _ = w.Write([]byte("0123456789"))
	})
	opts := []ViewOption{}
	if shared {
		opts = append(opts, SharedCache())
	}
	return c.Cached(time.Minute, opts...)(next)
}

// TestPartialLeaderMixedHerd: a Range leader answered alone, with Range
// waiters and plain waiters behind it: every request gets its answer
// (its 206, or the plain run's 200 as a hit would, for a Range; the
// whole 200 for the plain ones), the plain ones
// share one run, and the runs are bounded.
func TestPartialLeaderMixedHerd(t *testing.T) {
	body := []byte("0123456789")
	synctest.Test(t, func(t *testing.T) {
		c := Must(nil)
		defer c.Close()
		var runs atomic.Int64
		gate := make(chan struct{})
		h := partialView(c, false, body, gate, &runs)
		var wg sync.WaitGroup
		lead := make(chan int, 1)
		wg.Go(func() { lead <- get(h, "/f", "Range", "bytes=0-3").Code })
		synctest.Wait()
		const n, m = 4, 4
		codes := make([]int, n+m)
		bodies := make([]string, n+m)
		for i := range codes {
			hdr := []string{}
			if i < n {
				hdr = []string{"Range", "bytes=0-3"}
			}
			wg.Go(func() {
				rr := get(h, "/f", hdr...)
				codes[i], bodies[i] = rr.Code, rr.Body.String()
			})
		}
		synctest.Wait()
		close(gate)
		wg.Wait()
		require.Equal(t, http.StatusPartialContent, <-lead)
		for i := range codes {
			if i < n {
				// Its own 206, or the plain run's 200, as a hit answers it.
				if codes[i] == http.StatusPartialContent {
					assert.Equal(t, "0123", bodies[i], "range %d", i)
				} else {
					assert.Equal(t, http.StatusOK, codes[i], "range %d", i)
					assert.Equal(t, string(body), bodies[i], "range %d", i)
				}
			} else {
				assert.Equal(t, http.StatusOK, codes[i], "plain %d", i)
				assert.Equal(t, string(body), bodies[i], "plain %d", i)
			}
		}
		assert.LessOrEqual(t, runs.Load(), int64(2+n), "the leader's, one plain run, at most one per Range waiter")
		s := c.Stats()
		assert.Equal(t, int64(1+n+m), s.Hits+s.Misses+s.Bypasses, "each request counted once: %+v", s)
		assert.Equal(t, int64(1), s.Sets, "the plain run's 200 stored once")
	})
}

// TestPartialBody200NotHanded: a Range leader whose handler answers with a
// 200 that carries Content-Range hands its waiters on to a plain run: no
// plain waiter gets the part made for the Range.
func TestPartialBody200NotHanded(t *testing.T) {
	for _, shared := range []bool{false, true} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				gate := make(chan struct{})
				var runs atomic.Int64
				// A-IM: a request that leads in either mode.
				h := contentRangeView(c, shared, "A-IM", gate, &runs)
				var wg sync.WaitGroup
				wg.Go(func() { get(h, "/f", "A-IM", "vcdiff") })
				synctest.Wait()
				bodies := make([]string, 3)
				for i := range bodies {
					wg.Go(func() { bodies[i] = get(h, "/f").Body.String() })
				}
				synctest.Wait()
				close(gate)
				wg.Wait()
				for i, b := range bodies {
					assert.Equal(t, "0123456789", b, "plain %d", i)
				}
				assert.Equal(t, int64(2), runs.Load(), "the leader's, one for the plain waiters")
			})
		})
	}
}
