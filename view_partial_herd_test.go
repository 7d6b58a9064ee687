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

// TestPartialRequestsCollapse: concurrent misses that each carry a Range,
// a precondition or an A-IM, whose handler ignores those fields (as most
// dynamic pages do), share one run: its 200 answers them all. Told never to
// lead, each ran the handler on its own, a herd any client could raise
// with a header. (A SharedCache view answers a Range or precondition from
// the entry, and such a request still leads no run there.)
func TestPartialRequestsCollapse(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, pr := range partialRequests {
			if shared && pr.name != "A-IM" {
				continue
			}
			t.Run(fmt.Sprintf("shared=%v/%s", shared, pr.name), func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					gate := make(chan struct{})
					next := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
						runs.Add(1)
						<-gate
						w.Header().Set("Cache-Control", "max-age=60")
						_, _ = w.Write([]byte("page"))
					})
					opts := []ViewOption{}
					if shared {
						opts = append(opts, SharedCache())
					}
					h := c.Cached(time.Minute, opts...)(next)
					codes := concurrentCodes(h, "/page", pr.header, gate)
					for i, code := range codes {
						require.Equal(t, http.StatusOK, code, "request %d", i)
					}
					assert.Equal(t, int64(1), runs.Load(), "one run answered them all")
				})
			})
		}
	}
}

// TestPartialRequestsAnsweredAloneEachRun: concurrent misses that each
// carry a Range, a precondition or an A-IM the handler answers for them
// alone each get their own answer, one run each: the leader's answer hands
// its waiters on, and none of them leads the others to it again.
func TestPartialRequestsAnsweredAloneEachRun(t *testing.T) {
	body := []byte("0123456789")
	for _, pr := range partialRequests {
		t.Run(pr.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := Must(nil)
				defer c.Close()
				var runs atomic.Int64
				gate := make(chan struct{})
				h := partialView(c, false, body, gate, &runs)
				codes := concurrentCodes(h, "/file", pr.header, gate)
				for i, code := range codes {
					assert.Equal(t, pr.status, code, "request %d", i)
				}
				assert.Equal(t, int64(len(codes)), runs.Load(), "one run each")
			})
		})
	}
}

// concurrentCodes sends five concurrent GETs of target with header to h,
// in a synctest bubble, opens gate once all of them wait, and returns
// their statuses.
func concurrentCodes(h http.Handler, target string, header []string, gate chan struct{}) []int {
	codes := make([]int, 5)
	var wg sync.WaitGroup
	for i := range codes {
		wg.Go(func() { codes[i] = get(h, target, header...).Code })
	}
	synctest.Wait()
	close(gate)
	wg.Wait()
	return codes
}
