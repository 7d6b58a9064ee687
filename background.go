package caching

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/timingkey"
)

// Background work is what the Cache does on goroutines of its own, for
// nobody waiting: the refreshes of StaleWhileRevalidate, RefreshAhead and
// StaleIf, and the release of a lease once its run's result is stored
// (releaseLeaseLater). It runs with the values of the context it was started from (a
// request's: what a handler or function reads from it), never with that
// context's cancellation or deadline (the client that caused it has its
// answer and may leave), nor with timing's recorder (its metrics are not
// that request's), and ends with the Cache: Close cancels its
// contexts, waits a bounded time for its goroutines (background.stop),
// and none starts after Close.

// background is the part of a Cache that background work needs.
type background struct {
	life   context.Context // cancelled by Close
	cancel context.CancelFunc
	// mu orders the goroutines' start (read-locked: life not ended yet,
	// then wg.Add) before stop's cancel (locked), so that no wg.Add comes
	// after stop's wg.Wait began.
	mu sync.RWMutex
	wg sync.WaitGroup // the goroutines started by goBackground
	// warming counts the Warm calls in progress, so that a view looks for
	// Warm's context value only while one is (see view.warmProbe).
	warming atomic.Int32
}

func (b *background) start() { b.life, b.cancel = context.WithCancel(context.Background()) }

// stop cancels the background work's contexts, then waits for its
// goroutines to return, at most d: a refresh whose handler or function
// honours its context returns at once, and its last backend calls (the
// release of its lease: one call, bounded by Options.Timeout) are still
// made before Close closes the backend. It reports whether they all
// returned in time.
func (b *background) stop(d time.Duration) bool {
	b.mu.Lock()
	b.cancel()
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		// Ends with the last background goroutine, when that is after d.
		b.wg.Wait()
		close(done)
	}()
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-done:
		return true
	case <-timer.C:
		return false
	}
}

// detach returns the context of background work started from ctx: ctx's
// values but timing's recorder, and the Cache's life for cancellation.
func (b *background) detach(ctx context.Context) context.Context {
	return detached{Context: b.life, values: context.WithoutCancel(ctx)}
}

// goBackground runs fn on a goroutine of its own and reports true, or
// reports false and runs nothing once the Cache is closed.
func (b *background) goBackground(fn func()) bool {
	b.mu.RLock()
	if b.life.Err() != nil {
		b.mu.RUnlock()
		return false
	}
	b.wg.Add(1)
	b.mu.RUnlock()
	go func() {
		defer b.wg.Done()
		fn()
	}()
	return true
}

// wait waits for the background goroutines started so far (tests).
func (b *background) wait() { b.wg.Wait() }

// detached is the context of background work: Done, Err and Deadline are
// the Cache's life's, values are those of the context the work was started
// from (first; then the life's, which has none but its own cancellation,
// found by the context package when a context is derived from this one),
// less timing's recorder (timingkey.Recorder), which it hides.
type detached struct {
	context.Context                 // the Cache's life
	values          context.Context // context.WithoutCancel of the starter's
}

func (d detached) Value(key any) any {
	if key == (timingkey.Recorder{}) {
		// timing's recorder is the request's report, read once its
		// response went out: the background work's metrics (a refresh's
		// database time) are not that request's, and would come late,
		// racing the report. Recorded nowhere, as without the middleware.
		return nil
	}
	if v := d.values.Value(key); v != nil {
		return v
	}
	return d.Context.Value(key)
}

// backgroundRequest returns the request a background refresh of r's entry
// runs the handler with: a GET of r's URL, with r's Host, TLS state, path
// values, context values (but timing's recorder: see detached) and header
// fields, but the Cache's life for
// cancellation (not the client's) and no body. The refresh makes the
// response r's own request would have made: a handler that builds links
// from X-Forwarded-Proto, or reads any other field every request carries,
// must not store one no client could get. Left out are the fields that are
// the client's alone: its validators, Range, If-Range and A-IM (the refresh
// stores a whole 200, not a part or a delta), its Cache-Control and Pragma, and, unless the view is keyed by user (UserKey) or
// by its own KeyFunc, Authorization and Proxy-Authorization: a shared entry
// is refreshed as the anonymous response every client of it may get; so
// are their spellings with '_' ("If_Match"). (A request with an
// Authorization the refresh would leave out starts none: see
// credentialsDropped.) The client's Cookie stays, as
// on its miss (requests with cookies are shared unless the response says
// otherwise): a handler behind a middleware that admits only signed-in
// clients may read it and answer a request without one with a login page,
// which a refresh without it would store for every member. It goes only
// when every cookie in it is named by InertCookies and the entry, whose
// Vary names are names, would otherwise not be refreshed for r (see
// refreshable): the response is then the one a request without cookies
// gets. r's RemoteAddr stays too: the refresh replaces the entry of r's
// key, which a KeyFunc or UserKey may make of the address, with the
// response r would have had (Warm's requests, which have no client, get
// warmRemoteAddr).
func (v *view) backgroundRequest(r *http.Request, names []string) *http.Request {
	r2 := r.Clone(v.c.detach(r.Context()))
	r2.Method = http.MethodGet
	r2.Body, r2.GetBody, r2.ContentLength = http.NoBody, nil, 0
	r2.Form, r2.PostForm, r2.MultipartForm, r2.Trailer = nil, nil, nil, nil
	// Their spellings with '_' go too ("If_Match", "Proxy_Authorization"),
	// which a CGI-style handler reads as the field: see httpcache.HasField.
	for _, name := range clientOnlyFields {
		httpcache.DeleteField(r2.Header, name)
	}
	if v.dropsCredentials() {
		httpcache.DeleteField(r2.Header, "Authorization")
		httpcache.DeleteField(r2.Header, "Proxy-Authorization")
	}
	if v.cookieBound(r, names) && v.onlyInertCookies(r) {
		delete(r2.Header, "Cookie")
	}
	// A refresh of a request no server handed over (an adapter's) must
	// still see a proxy's broken body as one: see withServer.
	if ctx, added := withServer(r2.Context()); added {
		r2 = r2.WithContext(ctx)
	}
	return r2
}

// dropsCredentials reports whether the background refreshes of v run
// without the request's credentials, Authorization and
// Proxy-Authorization (backgroundRequest): v has neither UserKey nor
// KeyFunc, which would key them.
func (v *view) dropsCredentials() bool { return v.cfg.userFunc == nil && v.keyFunc == nil }

// credentialsDropped reports whether r has an Authorization (in any
// spelling: see httpcache.HasField) that a background refresh of its entry
// would run without. Such a request starts no refresh (refreshable): the
// refresh would keep its context values, where an authentication
// middleware outside the view put the account Authorization names, and a
// handler that reads the account there would make that account's page,
// which, asked for without Authorization, a SharedCache view stores for
// every client (RFC 9111 section 3.5 keeps a response to a request with
// Authorization out of a shared cache unless it says public, s-maxage or
// must-revalidate; such a request reaches a refresh only there, where it
// may be served a stored response that says public: elsewhere it passes
// through). Proxy-Authorization, which a view stores the response to as
// to any request (credentials for a proxy, not for the origin), is only
// left out of the refresh.
func (v *view) credentialsDropped(r *http.Request) bool {
	return v.dropsCredentials() && httpcache.HasField(r.Header, "Authorization")
}

// withServer returns ctx with http.ServerContextKey set to a placeholder
// *http.Server (never started, one per request) when ctx has none, and
// reports whether it set it. httputil.ReverseProxy aborts a response whose
// origin body breaks off (it panics with http.ErrAbortHandler) only for a
// request whose context holds that key, a server's; for any other it
// returns normally with what it copied, and a view would store the cut-short
// body (chunked: no Content-Length to check it against) for every client.
// The requests the Cache makes itself (Warm's, background refreshes') and
// the handler runs of requests no server handed over are given the key.
func withServer(ctx context.Context) (context.Context, bool) {
	if ctx.Value(http.ServerContextKey) != nil {
		return ctx, false
	}
	return context.WithValue(ctx, http.ServerContextKey, new(http.Server)), true
}

// clientOnlyFields are the request fields a background refresh drops: they
// ask for a response to this client alone.
var clientOnlyFields = [...]string{
	"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since",
	"If-Range", "Range", "Expect", "Content-Length", "Content-Type", "Transfer-Encoding",
	// A-IM (RFC 3229) asks for a delta from the client's own copy: a 226,
	// never stored, which would leave the entry stale. Canonical, as the
	// others: DeleteField deletes the key as spelled.
	"A-Im",
	// The client's request directives (only-if-cached, max-stale, no-cache)
	// ask for its own response; a handler that proxies passes them on to
	// the cache behind it, which would answer the refresh for that client
	// (a 504 that fails it, a stale copy stored).
	"Cache-Control", "Pragma",
}

// maxRefreshes bounds the background refreshes (StaleWhileRevalidate,
// RefreshAhead, StaleIf) of one view (of each route of a CachedMux) or
// memoized function that hold a slot at a time (refreshSlots).
const maxRefreshes = 8

// maxOverdueRefreshes bounds the overdue refreshes of one view's route or
// memoized function: those that gave their slot up (refreshSlots). With
// maxRefreshes, it bounds their goroutines.
const maxOverdueRefreshes = 4 * maxRefreshes

// refreshSlots are the background refresh slots of one view (of one route
// of a CachedMux) or memoized function: maxRefreshes, each taken by one
// refresh, given back when it ends. A refresh that has held its slot for
// its bound (a view's CollapseTimeout: how long its requests wait for a run
// of their key before they stop waiting for it; a memoized function's:
// DefaultCollapseTimeout plus its Lease, the CollapseTimeout of a view
// without one) is overdue: the next refresh that finds every slot taken
// takes the slot of the one that has run the longest, if that one is
// overdue and fewer than maxOverdueRefreshes are, which goes on running
// without a slot. So refreshes whose handler or function hangs (a hung
// dependency) leave the other keys their refreshes once past the bound,
// instead of holding every slot until the Cache is closed, and at most
// maxRefreshes + maxOverdueRefreshes goroutines run refreshes of one route
// or function; once that many are overdue, the overdue ones keep their
// slots. An overdue refresh is not cancelled (a slow refresh is
// legitimate, and its context ends only with the Cache) and still keeps a
// second refresh of its own key from starting (the caller's mark): a
// handler stuck once would otherwise be started again at each stale hit.
// A bound of zero or less makes no refresh overdue. The zero value is
// ready to use; it is safe for concurrent use.
type refreshSlots struct {
	mu      sync.Mutex
	held    [maxRefreshes]refreshSlot // id 0: free
	overdue int                       // refreshes that gave their slot up, running
	last    uint64                    // the last id given
}

// refreshSlot is a slot taken: by the refresh of id, started at start.
type refreshSlot struct {
	id    uint64
	start time.Time
}

// take takes a slot for a refresh starting at now (on the monotonic
// clock), as refreshSlots says, under bound, and returns its id for give;
// it reports false when none may be taken.
func (s *refreshSlots) take(now time.Time, bound time.Duration) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, oldest := -1, -1
	for j := range s.held {
		if s.held[j].id == 0 {
			i = j
			break
		}
		if oldest < 0 || s.held[j].start.Before(s.held[oldest].start) {
			oldest = j
		}
	}
	if i < 0 {
		if bound <= 0 || s.overdue >= maxOverdueRefreshes || now.Sub(s.held[oldest].start) < bound {
			return 0, false
		}
		s.overdue++ // the oldest refresh runs on without its slot
		i = oldest
	}
	s.last++
	s.held[i] = refreshSlot{id: s.last, start: now}
	return s.last, true
}

// give ends the refresh of id, which take returned: it gives its slot
// back, or, overdue, its place among the overdue ones.
func (s *refreshSlots) give(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for j := range s.held {
		if s.held[j].id == id {
			s.held[j] = refreshSlot{}
			return
		}
	}
	s.overdue--
}
