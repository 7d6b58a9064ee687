package caching

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestFailedLeaderWaiterServesNewerEntry: a waiter of a failed leader whose
// reread of its stale entry finds a newer one instead, fresh (another
// process stored it while the waiter waited), ran its own handler, where a
// request made then gets a HIT of that entry. It is served that entry now,
// as a HIT, judged as a lookup judges it (failedAnswer), and the handler runs
// no more.
func TestFailedLeaderWaiterServesNewerEntry(t *testing.T) {
	failedLeaderRuns(t, "", false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
		f := newFailedLeader(t, &Options{Backend: b}, failure, flow.cc, flow.opts...)
		w := f.waiter(func() {
			require.Equal(t, "other page", get(f.other(t, flow.cc), "/p").Body.String())
		})
		assert.Equal(t, "other page", w.Body.String(), "the waiter ran its own handler (X-Cache: %s)", w.Header().Get("X-Cache"))
		assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
		assert.Equal(t, int64(2), f.runs.Load(), "the waiter runs no handler of its own")
	})
}

// TestFailedLeaderCommitted5xxWaitersServeStale: a leader without a stale
// entry of its own (its lookup found none: another process stored the page
// while its handler ran) whose handler answers a plain 500, sent to its
// client as it is, released its waiters to each run the failing handler,
// where the same leader's panic let those with a stale entry that answers a
// failure serve it (viewResult.failed). Its committed 5xx is the run's
// failure too: they serve their stale entry, and the handler runs once for
// them all. The 500 is stored for nobody: the next request is still served
// the stale entry in place of its own run's failure.
func TestFailedLeaderCommitted5xxWaitersServeStale(t *testing.T) {
	const waiters = 3
	failedLeaderRuns(t, "", false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
		f, oh, leader := newColdFailedLeader(t, b, failure, flow, func(w http.ResponseWriter) { failRun(w, failure) })
		require.Equal(t, "other page", get(oh, "/p").Body.String())
		time.Sleep(15 * time.Second) // stale, within stale-if-error
		answers := make(chan *httptest.ResponseRecorder, waiters)
		for range waiters {
			go func() { answers <- get(f.h, "/p") }()
			<-f.joined
		}
		synctest.Wait() // the waiters, their stale entry found, wait for the run
		close(f.hold)
		want := http.StatusInternalServerError
		if failure == "panic" {
			want = 599 // sendRecovered: the panic reached the request
		}
		assert.Equal(t, want, (<-leader).Code, "the leader, without an entry, gets its failure")
		for i := range waiters {
			w := <-answers
			assert.Equal(t, http.StatusOK, w.Code, "waiter %d", i)
			assert.Equal(t, "other page", w.Body.String(), "waiter %d", i)
			assert.Equal(t, "STALE", w.Header().Get("X-Cache"), "waiter %d", i)
		}
		assert.Equal(t, int64(1), f.runs.Load(), "the waiters run no handler of their own")

		w := sendRecovered(f.h, http.MethodGet, "/p")
		assert.Equal(t, "other page", w.Body.String(), "the 500 was stored")
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
	})
}
