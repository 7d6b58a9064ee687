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
// with a header: in a SharedCache view, a Range or precondition did until
// it led as the others. There the waiters are answered from the entry, as
// a hit is (a Range with its part), and the leader with its handler's 200.
func TestPartialRequestsCollapse(t *testing.T) {
	for _, shared := range []bool{false, true} {
		for _, pr := range partialRequests {
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
					hit := http.StatusOK
					if shared {
						hit = get(h, "/page", pr.header...).Code
					}
					for i, code := range codes {
						require.Contains(t, []int{http.StatusOK, hit}, code, "request %d", i)
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

// TestSharedPartialAnswerHandsOnWhateverItsHeader: in a SharedCache view, a
// Range or precondition request that leads a run its handler answers for
// it alone, with a header that would keep any response out (no freshness,
// private), hands its plain waiters on to a new leader, as a 412 or 416
// with a max-age does: refused for its status, not for what it says, which
// would have each waiter run the handler on its own.
func TestSharedPartialAnswerHandsOnWhateverItsHeader(t *testing.T) {
	for name, cc := range map[string]string{"no freshness": "", "private": "private, max-age=60"} {
		for _, pr := range []struct {
			header []string
			status int
		}{
			{[]string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
			{[]string{"Range", "bytes=20-30"}, http.StatusRequestedRangeNotSatisfiable},
		} {
			t.Run(name+"/"+pr.header[0], func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					c := Must(nil)
					defer c.Close()
					var runs atomic.Int64
					gate := make(chan struct{})
					h := c.Cached(time.Minute, SharedCache())(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						runs.Add(1)
						<-gate
						if r.Header.Get(pr.header[0]) != "" {
							if cc != "" {
								w.Header().Set("Cache-Control", cc)
							}
							w.WriteHeader(pr.status)
							return
						}
						w.Header().Set("Cache-Control", "max-age=60")
						_, _ = w.Write([]byte("page"))
					}))
					first, got := leadWithWaiters(gate, 3, func() int { return get(h, "/page", pr.header...).Code },
						func() string { return get(h, "/page").Body.String() })
					assert.Equal(t, pr.status, first)
					assert.Equal(t, []string{"page", "page", "page"}, got)
					assert.Equal(t, int64(2), runs.Load(), "the plain requests shared one run")
				})
			})
		}
	}
}
