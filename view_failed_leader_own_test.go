package caching

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/go-caching/caching/backend"
)

// TestFailedLeaderOwnStaleRechecked: a leader whose handler failed (a
// panic, or a 5xx) served the stale entry its lookup found however long
// its handler took: an invalidation made while it ran (InvalidateTags,
// InvalidatePath, a Delete of its key, a Clear), or a handler slow enough
// to take the entry past its stale-if-error window, did not stop it, where
// its waiters, answered at the same moment, read the entry again and judge
// its window then (failedAnswer). The leader now does what they do: it gets
// its failure as a request without the entry would (the 500 as the
// handler made it; the panic), is served the entry only while it still
// answers that failure, and a newer fresh entry stored meanwhile by
// another process as a HIT.
func TestFailedLeaderOwnStaleRechecked(t *testing.T) {
	failedLeaderOwnStaleRechecked(t, http.MethodGet)
}

// failedLeaderOwnStaleRechecked runs failedOwnCases for a failed leader of
// method (GET, HEAD).
func failedLeaderOwnStaleRechecked(t *testing.T, method string) {
	for _, tc := range failedOwnCases {
		failedLeaderRuns(t, tc.name, false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			f := newFailedLeader(t, &Options{Backend: b}, failure, flow.cc, flow.opts...)
			w := f.leader(method, func() { tc.do(t, f, flow.cc) })
			assert.Equal(t, int64(2), f.runs.Load())
			assertFailedLeaderAnswer(t, method, w, failure, tc.want)
		})
	}
}

// TestFailedLeaderOwnUnreadInvalidated: a failed leader whose read of its
// stale entry fails (the remote store went down while its handler ran)
// keeps the entry (fail open), but not past what its process knows without
// the store, as its waiters judge it (failedUnreadCases).
func TestFailedLeaderOwnUnreadInvalidated(t *testing.T) {
	for _, tc := range failedUnreadCases {
		failedLeaderRuns(t, tc.name, true, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			f := newFailedLeader(t, unreadOptions(b), failure, flow.cc, flow.opts...)
			w := f.leader(http.MethodGet, func() { tc.do(t, f, flow.cc) })
			assert.Equal(t, int64(2), f.runs.Load())
			assertFailedLeaderAnswer(t, http.MethodGet, w, failure, tc.want)
		})
	}
}

// TestFailedLeaderRereadFailureCounted: the read of a failed run's stale
// entry again (failedAnswer), by its leader and by each waiter, was silent
// when it failed, where a lookup's failure is counted: a backend error in
// Stats.Errors and the view's Counts.Errors, and logged ("backend error,
// serving uncached"); a corrupt entry, deleted, in the view's
// Counts.Corrupt as in Stats.Corrupt. Each is counted once, as a lookup's
// is. The entry is still served (fail open) after a backend error.
func TestFailedLeaderRereadFailureCounted(t *testing.T) {
	failedLeaderRuns(t, "down", true, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
		var logs bytes.Buffer
		o := unreadOptions(b)
		o.Logger = slog.New(slog.NewTextHandler(&logs, nil))
		f := newFailedLeader(t, o, failure, flow.cc, append([]ViewOption{Name("p")}, flow.opts...)...)
		w := f.waiter(func() { b.(*remote).fail.Store(true) })
		assert.Equal(t, "STALE", w.Header().Get("X-Cache"))
		want := int64(2) // the leader's read and the waiter's, each once
		if failure == "panic" {
			want++ // the panic, logged as served stale
		}
		assert.Equal(t, want, f.c.Stats().Errors)
		assert.Equal(t, want, f.c.ViewStats()["p"].Errors)
		// (The log's rate limit lets the first through.)
		assert.Contains(t, logs.String(), `op="view lookup"`)
	})
	failedLeaderRuns(t, "corrupt", true, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
		f := newFailedLeader(t, &Options{Backend: b}, failure, flow.cc, append([]ViewOption{Name("p")}, flow.opts...)...)
		w := f.leader(http.MethodGet, func() {
			require.NoError(t, b.Set(context.Background(), f.key(t), []byte("not an entry"), time.Hour))
		})
		assertFailedLeaderAnswer(t, http.MethodGet, w, failure, "")
		assert.Equal(t, int64(1), f.c.Stats().Corrupt)
		assert.Equal(t, int64(1), f.c.ViewStats()["p"].Corrupt)
	})
}

// TestFailedLeaderColdWaiterRereads: a waiter whose lookup found no entry,
// and whose leader's handler failed (viewResult.failed), ran its own
// handler at once, without reading the key again: a fresh entry stored
// while it waited (by another process's run, or a refresh), which a
// request made then gets as a HIT, was not served to it, and the failing
// handler ran once more. It now reads the key once (on this failure path
// only) and is served that entry as a HIT, judged as a lookup judges a hit
// (failedAnswer); with none stored, it runs its own handler as before.
func TestFailedLeaderColdWaiterRereads(t *testing.T) {
	for _, stored := range []bool{false, true} {
		name := ""
		if stored {
			name = "stored"
		}
		failedLeaderRuns(t, name, false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			f, oh, leader := newColdFailedLeader(t, b, failure, flow, func(w http.ResponseWriter) { w.Write([]byte("new page")) })
			waiter := make(chan *httptest.ResponseRecorder, 1)
			go func() { waiter <- get(f.h, "/p") }()
			<-f.joined
			synctest.Wait() // the waiter, which found no entry either, waits
			if stored {
				require.Equal(t, "other page", get(oh, "/p").Body.String())
			}
			close(f.hold)
			assertFailedLeaderAnswer(t, http.MethodGet, <-leader, failure, "") // no entry of its own
			w := <-waiter
			if !stored {
				assert.Equal(t, "new page", w.Body.String())
				assert.Equal(t, int64(2), f.runs.Load(), "the waiter runs its own handler")
				return
			}
			assert.Equal(t, "other page", w.Body.String(), "the waiter ran its own handler (X-Cache: %s)", w.Header().Get("X-Cache"))
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			assert.Equal(t, int64(1), f.runs.Load(), "the waiter runs no handler of its own")
		})
	}
}

// newColdFailedLeader returns a failedLeader on a Cache of b whose
// handler's first run is held and fails (failure), and whose others answer
// as after does, and the view of another process (failedLeader.other,
// which stored /p); and the first run's leader, which found no entry and
// waits for its handler (held), whose response comes on the channel. The page's
// version keys are there before the leader's lookup, which finds no entry:
// its run creates none, whose delete at its end would drop an entry stored
// meanwhile (forgetCreated).
func newColdFailedLeader(t *testing.T, b backend.Backend, failure string, flow failedLeaderFlow, after func(w http.ResponseWriter)) (*failedLeader, http.Handler, <-chan *httptest.ResponseRecorder) {
	f := newFailingView(t, &Options{Backend: b}, 10*time.Second, flow.opts, func(runs *atomic.Int64, hold <-chan struct{}) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if runs.Add(1) == 1 {
				<-hold // the leader's run, while the waiters join it
				failRun(w, failure)
				return
			}
			after(w)
		})
	})
	oh := f.other(t, flow.cc)
	require.Equal(t, "other page", get(oh, "/p").Body.String())
	f.forget(t)
	return f, oh, f.lead(http.MethodGet)
}

// TestFailedLeaderNewerEntryRefreshesAhead: a newer fresh entry that
// answers a failed run (failedAnswer: the leader's own, or its waiter's)
// as a HIT started no RefreshAhead refresh where it was due, as a lookup's
// hit of it would: served so, the entry expired in front of its clients.
// It now starts one as a lookup's hit does: the handler runs once more, in
// the background, and the next request gets its page.
func TestFailedLeaderNewerEntryRefreshesAhead(t *testing.T) {
	for _, waiter := range []bool{false, true} {
		name := ""
		if waiter {
			name = "waiter"
		}
		failedLeaderRuns(t, name, false, func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend) {
			// Due 2.5 s after it is stored: within 7.5 s of the end of 10 s
			// of freshness (three quarters of it).
			f := newFailedLeader(t, &Options{Backend: b}, failure, flow.cc, append([]ViewOption{RefreshAhead(8 * time.Second)}, flow.opts...)...)
			meanwhile := func() {
				require.Equal(t, "other page", get(f.other(t, flow.cc), "/p").Body.String())
				time.Sleep(3 * time.Second) // due
			}
			var w *httptest.ResponseRecorder
			if waiter {
				w = f.waiter(meanwhile)
			} else {
				w = f.leader(http.MethodGet, meanwhile)
			}
			// A waiter's hit may be the page that the refresh its leader's
			// hit started stored before the waiter read.
			if body := w.Body.String(); !waiter || body != "new page" {
				assert.Equal(t, "other page", body)
			}
			assert.Equal(t, "HIT", w.Header().Get("X-Cache"))
			synctest.Wait() // the refresh, if any, runs
			assert.Equal(t, int64(3), f.runs.Load(), "one refresh ran the handler")
			assert.NotZero(t, f.c.Stats().AheadRefreshes)
			assert.Equal(t, "new page", get(f.h, "/p").Body.String(), "the refresh stored its page")
		})
	}
}
