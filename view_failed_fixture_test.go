package caching

import (
	"context"
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

// The fixture of the tests of a run whose handler fails (a panic, or a
// 500) while its leader, and the waiters that join it, wait: the view, the
// stale entry its requests find, another process that stores a newer one,
// and what happens while the handler runs.

// failedLeaderFlow is a view of the failed-run tests: its options, and the
// Cache-Control of its handler's responses.
type failedLeaderFlow struct {
	name string
	opts []ViewOption
	cc   string // the handler's Cache-Control
}

// failedLeaderFlows are the views of the failed-run tests: the default
// flow and SharedCache, each with a tag and with stale-if-error for a
// minute past 10 s of freshness.
var failedLeaderFlows = []failedLeaderFlow{
	{"default", []ViewOption{StaleIfError(time.Minute), Tags("items")}, ""},
	{"shared", []ViewOption{StaleIfError(time.Minute), SharedCache(), Tags("items")}, "max-age=10, stale-if-error=60"},
}

// failedLeaderRuns runs test in a synctest bubble once for each flow of
// failedLeaderFlows and failure ("panic", "500"), on a backend/simple
// Store b, as the subtest flow/name/failure (without name where it is "");
// and once more for each on such a Store behind a *remote, read again by
// the failure's judge, as flow/name/failure/remote. With remoteOnly, only
// the latter run, named without "/remote".
func failedLeaderRuns(t *testing.T, name string, remoteOnly bool, test func(t *testing.T, flow failedLeaderFlow, failure string, b backend.Backend)) {
	t.Helper()
	for _, flow := range failedLeaderFlows {
		for _, failure := range []string{"panic", "500"} {
			for _, remoteStore := range []bool{false, true} {
				if remoteOnly && !remoteStore {
					continue
				}
				sub := flow.name + "/"
				if name != "" {
					sub += name + "/"
				}
				sub += failure
				if remoteStore && !remoteOnly {
					sub += "/remote"
				}
				t.Run(sub, func(t *testing.T) {
					synctest.Test(t, func(t *testing.T) {
						var b backend.Backend = newSimple(t, nil)
						if remoteStore {
							b = &remote{Backend: b}
						}
						test(t, flow, failure, b)
					})
				})
			}
		}
	}
}

// failedLeader is a view of /p (CacheStatusHeader "X-Cache", then opts) on a Cache c of b, in a synctest bubble, whose
// handler counts its runs and holds one, until hold is closed, while
// requests join it; joined has the keys of those that join a run.
type failedLeader struct {
	b      backend.Backend
	c      *Cache // closed when the test ends
	h      http.Handler
	opts   []ViewOption // the view's, without CacheStatusHeader
	runs   atomic.Int64
	hold   chan struct{}
	joined <-chan string
}

// newFailingView returns a failedLeader on a Cache of o whose view keeps
// its pages for ttl and whose handler is origin's (of its runs and hold).
func newFailingView(t *testing.T, o *Options, ttl time.Duration, opts []ViewOption, origin func(runs *atomic.Int64, hold <-chan struct{}) http.Handler) *failedLeader {
	f := &failedLeader{b: o.Backend, opts: opts, hold: make(chan struct{}), joined: onWaiterJoined(t)}
	f.c = Must(o)
	t.Cleanup(func() { f.c.Close() })
	f.h = f.c.Cached(ttl, append([]ViewOption{CacheStatusHeader("X-Cache")}, opts...)...)(origin(&f.runs, f.hold))
	return f
}

// newFailedLeader returns a failedLeader of a failingLeaderOrigin (failure,
// cc) on a Cache of o, which stored /p (its first run), 15 s ago: stale,
// within stale-if-error. The next request of /p leads a run that fails.
func newFailedLeader(t *testing.T, o *Options, failure, cc string, opts ...ViewOption) *failedLeader {
	f := newFailingView(t, o, 10*time.Second, opts, func(runs *atomic.Int64, hold <-chan struct{}) http.Handler {
		return failingLeaderOrigin(runs, hold, failure, cc)
	})
	require.Equal(t, "page", get(f.h, "/p").Body.String())
	time.Sleep(15 * time.Second) // stale, within stale-if-error
	return f
}

// lead sends a request of /p (method) to the view, which leads a run, and
// returns once its handler runs (held); the response comes on the channel
// (sendRecovered's: a panic that reached it is a 599).
func (f *failedLeader) lead(method string) <-chan *httptest.ResponseRecorder {
	leader := make(chan *httptest.ResponseRecorder, 1)
	go func() { leader <- sendRecovered(f.h, method, "/p") }()
	synctest.Wait() // the leader's handler runs
	return leader
}

// leader returns the response of a leader of /p (method): meanwhile runs
// while its handler runs, then the handler is let go (hold closed).
func (f *failedLeader) leader(method string, meanwhile func()) *httptest.ResponseRecorder {
	leader := f.lead(method)
	meanwhile()
	close(f.hold)
	return <-leader
}

// waiter sends a leader of /p (a GET), then a waiter that joins its run;
// once the waiter waits, meanwhile runs, and the leader's run is let go
// (hold closed). It returns the waiter's response, once the leader's is
// sent too.
func (f *failedLeader) waiter(meanwhile func()) *httptest.ResponseRecorder {
	leader := f.lead(http.MethodGet)
	waiter := make(chan *httptest.ResponseRecorder, 1)
	go func() { waiter <- get(f.h, "/p") }()
	<-f.joined
	synctest.Wait() // the waiter, its lookup done, waits for the run
	meanwhile()
	close(f.hold)
	<-leader
	return <-waiter
}

// key returns the key of /p's entry (a GET's).
func (f *failedLeader) key(t *testing.T) string {
	key, err := f.c.ViewKey(httptest.NewRequest(http.MethodGet, "/p", nil), f.opts...)
	require.NoError(t, err)
	return key
}

// forget deletes /p's entry from the backend.
func (f *failedLeader) forget(t *testing.T) {
	require.NoError(t, f.b.Delete(context.Background(), f.key(t)))
}

// other returns the view of /p (f's options) of another process, on f's
// backend: it answers "other page" (cc, and the ETag "v3").
func (f *failedLeader) other(t *testing.T, cc string) http.Handler {
	other := Must(&Options{Backend: f.b})
	t.Cleanup(func() { other.Close() }) // (its Close closes the backend)
	return other.Cached(10*time.Second, f.opts...)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		w.Header().Set("ETag", `"v3"`)
		w.Write([]byte("other page"))
	}))
}

// failingLeaderOrigin is the handler of a stale key's failed leader: its
// first run answers "page" (with cc, when set, and the ETag "v1"), its
// second (the leader's) waits until hold is closed and fails (a panic, or
// a 500), and the others answer "new page" (ETag "v2"); runs counts them.
func failingLeaderOrigin(runs *atomic.Int64, hold <-chan struct{}, failure, cc string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if cc != "" {
			w.Header().Set("Cache-Control", cc)
		}
		switch runs.Add(1) {
		case 1:
			w.Header().Set("ETag", `"v1"`)
			w.Write([]byte("page"))
			return
		case 2:
			<-hold // the leader's run, while the waiter joins it
			failRun(w, failure)
			return
		}
		w.Header().Set("ETag", `"v2"`)
		w.Write([]byte("new page"))
	})
}

// failRun fails a handler's run: a panic, or a 500.
func failRun(w http.ResponseWriter, failure string) {
	if failure == "panic" {
		panic("the origin broke")
	}
	w.WriteHeader(http.StatusInternalServerError)
}

// failedCase is what happens while a failed run's handler runs (do, on the
// failedLeader's Cache and backend), and what answers its failure then
// (want: "STALE" the stale entry, "HIT" the newer entry another process
// stored, "" the failure, as a request without the entry gets it).
type failedCase struct {
	name string
	do   func(t *testing.T, f *failedLeader, cc string)
	want string
}

// failedOwnCases are the failedCases of a failingLeaderOrigin's view:
// nothing, an invalidation of each kind, the entry past its window, a
// newer entry another process stored.
var failedOwnCases = []failedCase{
	{"none", func(*testing.T, *failedLeader, string) {}, "STALE"},
	{"InvalidateTags", func(t *testing.T, f *failedLeader, _ string) {
		require.NoError(t, f.c.InvalidateTags(context.Background(), "items"))
	}, ""},
	{"InvalidatePath", func(t *testing.T, f *failedLeader, _ string) {
		require.NoError(t, f.c.InvalidatePath(context.Background(), "/p"))
	}, ""},
	{"Delete", func(t *testing.T, f *failedLeader, _ string) { f.forget(t) }, ""},
	{"Clear", func(t *testing.T, f *failedLeader, _ string) { require.NoError(t, f.c.Clear(context.Background())) }, ""},
	// The handler ran for a minute: the entry, stale for 15 s at the
	// lookup, is past its minute of stale-if-error.
	{"past", func(*testing.T, *failedLeader, string) { time.Sleep(time.Minute) }, ""},
	{"newer", func(t *testing.T, f *failedLeader, cc string) {
		require.Equal(t, "other page", get(f.other(t, cc), "/p").Body.String())
	}, "HIT"},
}

// failedUnreadCases are the failedCases of a failed run whose read of its
// stale entry fails (the failedLeader's backend, a *remote, went down
// while its handler ran): the entry is kept (fail open), but not past what
// its process knows without the store: an invalidation of its own that
// succeeded meanwhile, a Clear begun then, or one of the entry's tags
// whose invalidation failed and waits for its retry.
var failedUnreadCases = []failedCase{
	{"none", func(_ *testing.T, f *failedLeader, _ string) { f.b.(*remote).fail.Store(true) }, "STALE"},
	{"InvalidateTags", func(t *testing.T, f *failedLeader, _ string) {
		require.NoError(t, f.c.InvalidateTags(context.Background(), "items"))
		f.b.(*remote).fail.Store(true)
	}, ""},
	{"InvalidateTags/failed", func(t *testing.T, f *failedLeader, _ string) {
		f.b.(*remote).fail.Store(true)
		require.Error(t, f.c.InvalidateTags(context.Background(), "items")) // waits for its retry
	}, ""},
	{"Clear", func(t *testing.T, f *failedLeader, _ string) {
		require.NoError(t, f.c.Clear(context.Background()))
		f.b.(*remote).fail.Store(true)
	}, ""},
}

// unreadOptions are the Options of a failedUnreadCases run on b: a
// breaker that never opens, so that the reads meet the store.
func unreadOptions(b backend.Backend) *Options {
	return &Options{Backend: b, Breaker: BreakerOptions{Threshold: 1 << 30}}
}

// assertFailedLeaderAnswer asserts that w, the response of a stale key's
// leader (method) whose handler failed (failingLeaderOrigin), is want:
// "STALE" the stale entry, "HIT" the newer entry another process stored
// (failedLeader.other), "" the failure as a request without the entry
// gets it (the 500, or the panic: sendRecovered's 599).
func assertFailedLeaderAnswer(t *testing.T, method string, w *httptest.ResponseRecorder, failure, want string) {
	t.Helper()
	switch want {
	case "STALE", "HIT":
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, want, w.Header().Get("X-Cache"))
		assert.Equal(t, map[string]string{"STALE": `"v1"`, "HIT": `"v3"`}[want], w.Header().Get("ETag"))
		if method != http.MethodHead {
			assert.Equal(t, map[string]string{"STALE": "page", "HIT": "other page"}[want], w.Body.String(), "X-Cache: %s", w.Header().Get("X-Cache"))
		}
	default:
		code := http.StatusInternalServerError
		if failure == "panic" {
			code = 599 // the panic reached the request
		}
		assert.Equal(t, code, w.Code, "the leader was served %q (X-Cache: %s, ETag: %s), not its failure", w.Body.String(), w.Header().Get("X-Cache"), w.Header().Get("ETag"))
		assert.NotEqual(t, "STALE", w.Header().Get("X-Cache"))
	}
}
