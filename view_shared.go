package caching

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/conditional"
	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/internal/httpx"
)

// sharedConfig holds the options of a view that follows HTTP's own caching
// rules (SharedCache), invalidates on writes, or honours the request's
// Cache-Control.
type sharedConfig struct {
	shared            bool
	targeted          string // canonical; "" none
	targetedSet       bool
	maxHeuristic      time.Duration
	invalidateOnWrite bool
	honorRequest      bool
}

// SharedCache makes a view an RFC 9111 shared cache, as nginx's proxy_cache,
// Varnish or a CDN are: the response's own header decides what is stored
// and for how long, instead of the TTL alone.
//
//   - Storing (RFC 9111 section 3): GET responses with a final status, unless
//     no-store or private; for a request with Authorization only when the
//     response says public, s-maxage or must-revalidate (section 3.5; or when
//     UserKey separates users); only with explicit freshness (s-maxage,
//     max-age, Expires) or when heuristically cacheable (a status cacheable
//     by default, RFC 9110 section 15.1, with Last-Modified or public; or
//     public on a status below 400). Any
//     final status with explicit freshness may be stored, but never a 206,
//     a 304, or an error status that answers the request rather than its
//     URL, whatever its freshness: a 4xx other than 404, 405, 410 and 414
//     (a 400, 403, 406, 429, 431: an answer to the request, made of fields
//     no key holds) and any 5xx (a 500 for a header the origin cannot
//     parse, a 502 or 504 for a query that timed out, a 503: the origin
//     failing on one request; a 501, though cacheable by default, for a
//     Transfer-Encoding, method or Expect the client chose). Behind a
//     site-wide "public, max-age=600" (nginx's add_header ... always), one
//     client's oversized, forged or unparsable header would otherwise have
//     its error served to every client of the URL for ten minutes: a
//     cache-poisoned denial of service. Varnish's builtin rules store no
//     5xx either; RFC 9111 would allow it, and nginx and Caddy's
//     cache-handler do. An entry stored with such a status by an earlier
//     version (a 5xx, or a 501, kept in a Redis or file backend across an
//     upgrade) is a miss: never served, fresh or stale, and replaced by
//     the origin's next response. StoreStatuses cannot be given with
//     SharedCache. A maintenance page meant for every client (a 503 with
//     Retry-After) is best answered by a middleware outside the view,
//     which never reaches the origin, or left to the last good page
//     (StaleIfError with the origin's stale-if-error). A 5xx that answers
//     the revalidation of a stored entry never replaces it, and within its
//     stale-if-error window (a client's revalidation, or the background
//     one of stale-while-revalidate) it is a failure (RFC 5861 section 4):
//     the entry answers in its place. Responses with Set-Cookie are never stored (the
//     library's rule: a deliberate exception). no-cache responses are stored
//     and revalidated before every reuse. A request that waited for another's
//     run is served its response only when it may reuse it without
//     revalidation (fresh, no no-cache): the waiters of a no-cache,
//     max-age=0 or s-maxage=0 response, or of one stale on arrival, leave
//     as soon as its header is sent, each to run its own; so do those of a
//     revalidation whose 304 leaves the entry so, and of a response stale
//     by the time its body is complete. Server-Timing, which tells how one
//     response was made (and may be meant for some clients only), is never
//     stored.
//   - Freshness (section 4.2): s-maxage, else max-age, else Expires minus Date
//     (an invalid Expires is already stale), else 10% of the time since
//     Last-Modified, at most MaxHeuristicFreshness. The ttl given to Cached
//     caps every lifetime (Forever: no cap), and is how long an entry with a
//     validator is kept past its freshness for revalidation (past the time it
//     was stored, for a response stale on arrival): with max-age over the ttl,
//     an entry is fresh for ttl and revalidated for ttl more. A response over
//     on arrival with no validator and no stale window (max-age=0, or public
//     alone, without ETag or Last-Modified) can never be served: it answers
//     its own request without being written to the backend (the client does
//     not wait for a write), and the entry it replaces is deleted (see
//     dropSuperseded: never another client's variant, nor for an error
//     status or one user's answer). Age
//     (section 4.2.3) counts the apparent age, the upstream Age, the response
//     delay and the time stored: a response whose upstream Age exceeds its
//     lifetime is stale on arrival, and a hit carries the correct Age, with
//     the stored Date: a response without Date (none, or set to nil) is
//     dated when it was received (RFC 9110 section 6.6.1), its client's
//     response too, so that a cache further down reads the lifetime and
//     age this one does. The same holds of the 304 or HEAD response that
//     freshens an entry: its own Age and Date count, not the stored ones,
//     and one without Date is dated when it was received. What the view
//     forwards without storing (a write, a HEAD no entry answers, a
//     request it bypasses) is dated so too. A Date an outer middleware set
//     before the handler ran, and the handler left, dates the response the
//     view received: unlike the outer middleware's other fields, it is
//     stored, and a hit sends it, not the Date the outer middleware sets
//     on the hit's request (a 304 or HEAD 200 replaces it with its own).
//   - Validation (section 4.3): a stale or no-cache entry is revalidated by
//     running the handler with If-None-Match and If-Modified-Since from the
//     stored validators; a 304 freshens the entry and updates its stored
//     header (section 4.3.4), and the client gets the stored response, or
//     its own 304; any other response replaces the entry. A 304 (or a
//     HEAD 200 with the stored validators) with Set-Cookie is its client's
//     alone, as a 200 with Set-Cookie is: that client gets the stored
//     response with the 304's fields and its Set-Cookie, and the entry is
//     left as it was, not freshened (the fields sent with a session, a
//     CSRF token, may be that client's), so the next request revalidates
//     it again. The entry is freshened only once the response's status
//     has passed the writers outside the view: a Set-Cookie, Cache-Control
//     or Vary that one adds only then (alexedwards/scs's LoadAndSave, for
//     a client it signs in) counts as the 304's or the HEAD 200's own, as
//     it counts as a 200's. A response the entry may not be
//     replaced with for what the resource now is deletes the entry (the
//     origin no longer shares what it serves, section 4.3.3): a 304 or HEAD
//     200 that says private or no-store, a 2xx or 3xx (other than a 206 or
//     304), a 404 or a 410 that is no-store, private, without freshness,
//     Vary: *, past MaxBodySize or refused by StoreIf. Kept, the old
//     response would be served stale in place of the new one. Any client
//     may send the request that revalidates a stale entry, so a refusal
//     that may come from that request or the run leaves it: another 4xx (a
//     403 for a bad session, a 406 for an Accept, a 429 from a per-client
//     rate limit), a response with Set-Cookie (a session begun or renewed),
//     the request's no-store, the 206 or 412 that answers its Range or
//     precondition, any response (a GET's 304 or a HEAD's 200 included) to
//     a request with an Authorization or a Cookie that the key does not
//     hold (UserKey names no user, the stored response does not vary on
//     it) unless it says public or s-maxage without private (it may be
//     that user's page), the backend, a body
//     that disagrees with its Content-Length, a client that left while the
//     handler ran (which may answer the cancelled request with anything);
//     and so does a 5xx, a failure rather than a new response. A handler
//     whose answer depends on another request field should name it in Vary
//     (the key then holds it). A 304 selects the entry by its validator
//     (section 4.3.4): a strong ETag the same strong stored tag, a weak
//     one the stored tag, else its Last-Modified; a 304 with neither
//     selects only an entry that has neither either, so one that carries
//     none for an entry with a validator says nothing of it, and the
//     handler runs again without conditions. A HEAD response whose
//     validators all match the stored ones (its ETag, and its
//     Last-Modified when it has one) freshens the stored GET (section
//     4.3.5). An update keeps the fields that vouch for the stored bytes:
//     a weak stored ETag is never made strong, an encoded entry gains no
//     Accept-Ranges, and the digests of its bytes (Repr-Digest,
//     Content-Digest, Content-MD5, Digest) are replaced only by a 304 or
//     HEAD 200 whose Content-Encoding names the stored codings: one
//     answered from the identity (nginx's 304 to a gzip entry) carries the
//     unencoded bytes' digests. A 304 or HEAD 200 whose Vary
//     names a field the stored response does not vary on (a CORS handler's
//     "Vary: Origin", sent only to requests with Origin, with that Origin's
//     Access-Control-Allow-Origin) freshens nothing: its fields were made
//     for that request's value of the field, and would reach every client.
//     The GET's handler runs again without conditions, and its response is
//     stored under its own variant; the HEAD is answered, and nothing of it
//     stored. Vary names are compared as names: case, order and repeats do
//     not count. For a request with
//     Authorization (without UserKey) the 304 or HEAD 200 must say itself
//     that it may be shared (public, s-maxage, must-revalidate: section
//     3.5), as its 200 would: the stored header's public is the anonymous
//     response's. Otherwise its client gets the freshened response, with
//     its own fields, and the entry is left as it was for the others. A
//     revalidation
//     that began before a write or an invalidation of the entry (see
//     InvalidateOnWrite, Cache.InvalidatePath), or before a Cache.Clear
//     of this process, does not freshen it: its 304 may vouch for the
//     body from before the write (a Last-Modified of one second's
//     resolution), so the handler runs again without conditions
//     (a HEAD's 200 is passed on, and the entry left as it is). Fields an
//     outer middleware set before the handler ran are never stored; one
//     the handler deleted is deleted from what a hit serves, and a 304 or
//     HEAD 200 that freshens the entry tells again which the handler
//     deletes, as a 200 does (one it kept is served again). Its
//     Cache-Control, Expires and targeted field are judged as the
//     response's own, though: a 304 or HEAD 200 is judged on its header
//     as committed, as a 200 is (an outer private for a signed-in client
//     keeps it out of the entry), and the entry keeps those of them its
//     response was judged with, so that its stale windows, must-revalidate
//     or no-cache, public for a request with Authorization and the
//     freshness a 304 leaves it with are theirs (a hit still sends what the
//     outer middleware sets on its request). StoreIf judges the freshened
//     response of a 304 or HEAD 200 (the stored status and body, the
//     header as its client got it) as it judges a 200: refused, the entry
//     is not freshened, and is deleted as for the refusals above.
//     The client's own If-None-Match and If-Modified-Since never reach the
//     handler of a GET: they are answered from the stored response. Except
//     for a URL whose last response was refused for what it is (private,
//     no-store, too large, a status not stored, no freshness): for 2
//     minutes (renewed by the handler's own 304 that says private or
//     no-store; up to 1024 URLs), a GET that no entry answers reaches the
//     handler with them, alone, so that an origin behind a proxy answers
//     304 itself (Varnish's hit-for-pass); its 304 passes through, never
//     stored, and a 200 is judged and stored as any other. A HEAD
//     that no fresh entry answers reaches the handler as its client sent
//     it, validators included: the handler's answer (a 304 to the client's
//     own validators) passes through and is never stored; only a 200 that
//     matches the stored validators freshens the stored GET.
//   - Stale content (RFC 5861): the response's stale-while-revalidate=N and
//     stale-if-error=N, bounded by the StaleWhileRevalidate and StaleIfError
//     options (without them, nothing stale is served); must-revalidate,
//     proxy-revalidate, s-maxage and no-cache forbid serving stale. With
//     HonorRequestCacheControl, a request's own stale-if-error=N (RFC 5861
//     section 4) widens the response's window for that request only, up
//     to the StaleIfError bound; it never lifts those directives, nor
//     keeps an entry in the store longer.
//   - RefreshAhead: a hit within d of the end of the entry's freshness
//     lifetime (not of the ttl) starts the background refresh
//     stale-while-revalidate starts: a conditional request, whose response
//     replaces or freshens the entry under these rules.
//   - Targeted fields (RFC 9213): a valid CDN-Cache-Control (see
//     TargetedCacheControl) replaces Cache-Control and Expires for this
//     cache. It is stored and forwarded to the client, as RFC 9213 section 3
//     says caches typically do, for the caches further down.
//   - Range: a GET with a Range header is answered from a stored 200 as
//     http.ServeContent answers it (206, several ranges, 416, If-Range).
//     A stored response with a Content-Encoding (package compress inside
//     the view) is sent whole instead, unless it has "Accept-Ranges: bytes"
//     and a strong validator: a strong ETag, or no ETag and a Last-Modified
//     at least 60 seconds before its Date, or the time it was stored
//     without one (RFC 9110 section 8.8.2.2), as a pre-compressed file
//     served by http.ServeContent has. An encoding made
//     on the fly differs from one run to the next under a weak ETag that
//     every encoding shares, and its origin answers no range of it: a range
//     of one run's bytes, appended to another's, is a corrupt download.
//   - Reverse proxies: a handler that flushes (httputil.ReverseProxy relaying
//     a chunked response) still has its response stored when it completes
//     within MaxBodySize. Every flush reaches the client as it comes, but
//     the handler never waits for it: the concurrent requests for the key
//     get the stored response as soon as the handler has made it, however
//     slowly the first client reads (or if it never does).
//     text/event-stream responses are never stored, nor is a body the
//     origin breaks off: httputil.ReverseProxy aborts it (a panic with
//     http.ErrAbortHandler) only for a request whose context holds
//     http.ServerContextKey, so the handler's run (a miss), a background
//     refresh and Cache.Warm give one, a placeholder *http.Server, to a
//     request that has none (an adapter's, a test's ServeHTTP). There the
//     abort goes on to the caller, as a server's request's would, rather
//     than end in half a body the caller takes for a whole one.
//   - Writes invalidate (section 4.4): see InvalidateOnWrite, which
//     SharedCache implies.
//
// The request's Cache-Control is still ignored unless
// HonorRequestCacheControl is given. SharedCache cannot be given with
// RespectMaxAge or StoreStatuses, which it replaces. A hit costs what a hit
// of the default mode costs; only stale entries and requests with
// Authorization read the stored directives again.
func SharedCache() ViewOption {
	return viewOption(func(c *viewConfig) { c.shared = true })
}

// TargetedCacheControl names the targeted cache-control field (RFC 9213) a
// SharedCache view follows instead of Cache-Control when a response has a
// valid one: default "CDN-Cache-Control"; "" follows none. It must be a
// header name, and it applies only with SharedCache.
func TargetedCacheControl(name string) ViewOption {
	return viewOption(func(c *viewConfig) { c.targeted, c.targetedSet = name, true })
}

// MaxHeuristicFreshness caps the freshness a SharedCache view guesses for a
// response with Last-Modified and no explicit freshness (10% of its age,
// RFC 9111 section 4.2.2): default one day. It must be positive, and it
// applies only with SharedCache.
func MaxHeuristicFreshness(d time.Duration) ViewOption {
	return viewOption(func(c *viewConfig) { c.maxHeuristic = d })
}

// InvalidateOnWrite makes a view invalidate on writes, as RFC 9111 section
// 4.4 asks of a cache: a request with an unsafe method (POST, PUT, DELETE,
// PATCH, any method but GET, HEAD, OPTIONS and TRACE) whose response is not
// an error (a status under 400) makes every stored response of its path a
// miss (every query string and Vary variant; every host, as
// Cache.InvalidatePath does, or only the write's own under
// Options.HostScopedWrites), and of the paths in its Location and
// Content-Location when they are on the same host (a relative,
// scheme-relative or absolute reference, resolved as its client resolves
// it, dot segments removed). The invalidation happens when the response is committed,
// before the client reads it, and once more when the handler returns (or
// panics), so that a change the handler makes after it wrote its header (a
// deferred tx.Commit, a streamed response) is not hidden by a response that
// a read running meanwhile stored from the data before it: the client's next
// GET sees its write. That costs one more delete per write. A handler that
// panics before committing invalidates too (its write may have happened).
// The write itself passes through uncached, counted as a bypass.
// A failed invalidation is logged and counted as a backend error; the
// response is unchanged, and the invalidation is retried in the background
// until the backend answers (Stats.PendingInvalidations), so that the
// responses stored before the write are not served once it is back.
//
// Wrap the handlers of writes with a view that has it, or wrap a handler
// that serves reads and writes of a path. SharedCache implies it. Views
// whose keys are not built from the path (KeyFunc, a KeyFormat without %s)
// are not reached by it: tag them.
func InvalidateOnWrite() ViewOption {
	return viewOption(func(c *viewConfig) { c.invalidateOnWrite = true })
}

// HonorRequestCacheControl makes a view follow the request's Cache-Control
// (RFC 9111 section 5.2.1), which it ignores by default so that a client
// cannot make every request reach the handler: no-cache revalidates (or,
// without SharedCache, runs the handler) before answering, and so does
// Pragma: no-cache in a request without a Cache-Control field (an HTTP/1.0
// client's reload, RFC 7234 section 5.4; with the field, Pragma is
// ignored); no-store keeps the response out of the cache; max-age=N
// refuses an entry older than N; min-fresh=N one fresh for less than N more; max-stale[=N] accepts an
// entry stale by up to N (any, without N) unless its response forbids
// serving stale (must-revalidate, proxy-revalidate or s-maxage, in either
// mode); only-if-cached answers 504 Gateway Timeout when nothing
// acceptable is stored, and never runs the handler. In a SharedCache view,
// stale-if-error=N (RFC 5861 section 4) lets an entry stale by less than N,
// and less than the StaleIfError option (without it: never), answer this
// request when the handler fails (a 5xx or a panic), unless its response
// forbids serving stale (must-revalidate, proxy-revalidate, s-maxage,
// no-cache); the requests that waited for that run are not answered so,
// and no entry is kept longer for it. Under a Lease such a request waits
// for the process that holds it as any other does: it is answered stale
// only when the handler it then runs fails. (In the default mode
// StaleIfError already applies to every request, but for no-cache: see
// below.) A request with no-cache is never answered with a stale entry in
// place of its handler's failure, which would serve it a stored response
// its origin did not validate (RFC 9111 sections 4 and 5.2.1.4): the
// server's leave (StaleIfError, the response's stale-if-error) does not
// lift its no-cache; its own stale-if-error=N does, in a SharedCache view,
// within N as above. A request with max-age,
// min-fresh or max-stale=N refuses a stale entry that its max-stale does
// not accept (RFC 9111 sections 5.2.1.1 to 5.2.1.3): max-stale=N bounds
// the staleness of what it is served, even within StaleWhileRevalidate, or
// while another process refreshes the entry under a Lease. Only a failure
// of the handler it runs may still be answered with such an entry, within
// the stale-if-error window (RFC 5861 section 4 applies "regardless of
// other freshness information": the client's alternative is the error).
func HonorRequestCacheControl() ViewOption {
	return viewOption(func(c *viewConfig) { c.honorRequest = true })
}

// check validates the options of issue 16 together with the rest.
func (c *sharedConfig) check(cfg *viewConfig) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
	switch {
	case !c.shared && (c.targetedSet || c.maxHeuristic != 0):
		return fail("TargetedCacheControl and MaxHeuristicFreshness apply with SharedCache")
	case c.shared && cfg.respectMaxAge:
		return fail("SharedCache follows max-age and s-maxage itself; RespectMaxAge applies without it")
	case c.shared && cfg.statuses != nil:
		return fail("SharedCache stores what RFC 9111 allows; StoreStatuses applies without it")
	case c.maxHeuristic < 0:
		return fail("MaxHeuristicFreshness is %v; want a positive duration (0: a day)", c.maxHeuristic)
	case c.targeted != "" && !header.IsToken(c.targeted):
		return fail("TargetedCacheControl %q is not a header name", c.targeted)
	}
	switch {
	case !c.targetedSet:
		c.targeted = httpcache.DefaultTargetedField
	case c.targeted != "":
		c.targeted = textproto.CanonicalMIMEHeaderKey(c.targeted)
	}
	if c.shared {
		c.invalidateOnWrite = true
	}
	return nil
}

// extended reports whether the view has an option of issue 16.
func (c *sharedConfig) extended() bool { return c.shared || c.invalidateOnWrite || c.honorRequest }

// sharedRules returns the rules of a SharedCache view; nil without it.
func sharedRules(cfg *viewConfig) *httpcache.Shared {
	if !cfg.shared {
		return nil
	}
	return &httpcache.Shared{
		TargetedField:           cfg.targeted,
		MaxHeuristic:            cfg.maxHeuristic,
		MaxStaleWhileRevalidate: cfg.swr,
		MaxStaleIfError:         cfg.sie,
		AllowAuthorization:      cfg.userFunc != nil,
	}
}

// extRun is what a run of the handler needs beyond runState in a view with
// SharedCache or HonorRequestCacheControl.
type extRun struct {
	client  *http.Request // the request as the client sent it
	prev    *found        // the stored entry this run revalidates (SharedCache)
	noStore bool          // the request said no-store
	// unread: the run's lookup or its read of the tag versions failed
	// (the backend is down or slow): its response is judged, served and
	// handed to the waiters as with the backend up, but not stored; a 304
	// freshens the entry it revalidates for this client only.
	unread bool
	// replaces is the stored entry the run's response is to replace or
	// freshen (SharedCache), with validators or not: prev, and the entry
	// of a refresh or of a run whose 304 did not validate prev. A final
	// response refused for what it is itself removes it (dropReplaced).
	replaces *found
	// precondition: the request the handler gets has Range, If-Range,
	// If-Match or If-Unmodified-Since (or a spelling of one with '_': see
	// preconditioned), which the handler evaluates: only a 200 answering
	// it is stored. Never a background refresh's, which leaves them out.
	precondition bool
	rules        httpcache.Shared // the view's, with this run's ttl as MaxLifetime
	ttl          time.Duration    // the resolved ttl (0: forever)
	reqTime      time.Time        // when the handler was called
	respTime     time.Time        // when its response was committed (read once: see prepareRun)
	fr           httpcache.Freshness
	birth        time.Time // respTime minus the corrected initial age
	// date is the Date a SharedCache view sent its response with, where
	// the handler set none (httpcache.Recorder.Date): respTime. The entry
	// stores it, and each hit sends it.
	date []string
}

// reasonRequestNoStore is the reason of a response the request's no-store
// keeps out of the cache.
const reasonRequestNoStore httpcache.Reason = "request-no-store"

// verdict is what a stored entry may do for a request.
type verdict uint8

const (
	useNone            verdict = iota // run the handler (revalidate)
	useFresh                          // serve it
	useStale                          // serve it stale (max-stale)
	useStaleRevalidate                // serve it stale and revalidate in the background
)

// judgement is a verdict and what the run needs to know of the entry.
type judgement struct {
	verdict
	forced       bool // the request asked for more than the entry gives: no flight
	staleIfError bool // the entry may replace a failed response
	// staleOnlyAsked: only the request's own stale-if-error lets the entry
	// replace a failed response (see runState.staleOnError).
	staleOnlyAsked bool
}

// answersFailure reports whether the entry judged j answers the failure of
// its request's run (runState.stale): within its stale-if-error window, or
// within stale-while-revalidate for a request that starts no refresh.
func (j judgement) answersFailure() bool {
	return j.staleIfError || j.verdict == useStaleRevalidate
}

// serveExt serves a request of a view with the options of issue 16, and
// reports whether it did: false sends it on through the default flow.
func (v *view) serveExt(w http.ResponseWriter, r *http.Request, ttl time.Duration) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
	case http.MethodOptions, http.MethodTrace:
		return false
	default:
		if !v.cfg.invalidateOnWrite {
			return false
		}
		v.write(w, r)
		return true
	}
	if v.sh == nil && !v.cfg.honorRequest {
		return false
	}
	if httpcache.HasBody(r) {
		v.pass(w, r, httpcache.ReasonBody) // as the default flow's Policy.Request
		return true
	}
	if httpcache.HopByHop(r) {
		v.pass(w, r, httpcache.ReasonConnection) // as the default flow's Policy.Request
		return true
	}
	if httpcache.UnkeyedTarget(r) {
		v.pass(w, r, httpcache.ReasonTarget) // as the default flow's Policy.Request
		return true
	}
	var rq httpcache.CacheControl
	if v.cfg.honorRequest {
		rq = httpcache.ParseRequestCacheControl(r.Header)
	}
	auth := len(r.Header["Authorization"]) > 0
	if v.bypassIf != nil && v.bypassIf(r.Context(), r) {
		v.pass(w, r, reasonBypass)
		return true
	}
	var user string
	if v.cfg.userFunc != nil {
		if user = v.cfg.userFunc(r); user == "" {
			// A certificate too: UserKey may name no user this time where
			// certifiedStranger's call named one.
			if reason := httpcache.Credentials(r); reason != httpcache.ReasonNone {
				v.pass(w, r, reason)
				return true
			}
		}
	} else if auth && v.sh == nil {
		v.pass(w, r, httpcache.ReasonAuthorization)
		return true
	}
	// The key is built on the stack, and made a string only past a hit.
	// Keyed by the request's type form, as in ServeHTTP.
	var kb [keyBufLen]byte
	_, typed := w.Header()["Content-Type"]
	kbuf := v.appendViewKey(kb[:0], r, user, typed)
	if v.refreshIf != nil && v.refreshIf(r.Context(), r) || v.warmProbe(r) != nil {
		if r.Method == http.MethodHead {
			v.headMiss(w, r) // as in ServeHTTP: a HEAD stores nothing for GET
			return true
		}
		base := string(kbuf)
		v.runExt(w, r, &runState{base: base, f: found{key: base}, ttl: ttl, blind: true}, nil, rq, true)
		return true
	}
	now := v.c.clock()
	var f found
	cleared := v.c.store.clears.Load() // before the lookup: see found.cleared
	err := v.findIn(&f, r, kbuf, "", &now)
	f.cleared = cleared
	if err == errVaryTooLarge {
		if rq.OnlyIfCached {
			v.gatewayTimeout(w, r)
		} else {
			v.pass(w, r, reasonVaryLarge)
		}
		return true
	}
	usable := err == nil && v.usable(r, f.snap)
	var j judgement
	if usable {
		if j = v.judge(f, rq, now); j.verdict == useFresh {
			if v.otherTypeForm(w, r, f.snap) {
				return true // before a refresh: see otherTypeForm
			}
			if v.cfg.ahead > 0 { // before serving: see revalidate
				v.refreshAheadExt(w, r, string(kbuf), ttl, &f, rq, now)
			}
			v.serveSnap(w, r, f.snap, now, httpcache.Hit) // its form checked above
			return true
		}
	}
	base := string(kbuf)
	if f.key == "" {
		f.key = base
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		if !callerEnded(r.Context(), err) {
			v.failOpen(r, "view lookup", err)
		} // else the client left: not the backend's error (see store.report)
		v.serveDown(w, r, base, ttl, rq)
		return true
	}
	var prev *found
	if usable {
		switch j.verdict {
		case useStale:
			v.serve(w, r, f.snap, now, httpcache.Stale)
			return true
		case useStaleRevalidate:
			if !v.refreshable(r, f.spec.namesOrNil()) {
				break // a run of this request's own: see refreshable
			}
			if v.otherTypeForm(w, r, f.snap) {
				return true // before a refresh: see otherTypeForm
			}
			fc := f // before serving: see revalidate
			st := newRefresh(runState{base: base, f: found{key: base}, ttl: ttl}, refreshRun{outer: w.Header()})
			if j.staleIfError && !j.staleOnlyAsked {
				// Within the response's stale-if-error window, a 5xx is an
				// error (RFC 5861 section 4), as for a client's run: it
				// leaves the entry as it is, never replaces it, whatever
				// freshness it declares.
				st.stale = &fc
			}
			v.runExt(nil, r, st, &fc, rq, false)
			v.serveSnap(w, r, f.snap, now, httpcache.Stale) // its form checked above
			return true
		}
		if !f.snap.OtherTypeForm(w.Header()) {
			// (Else not revalidated: a 304 would serve the entry to a
			// request whose handler may answer otherwise. It runs without
			// conditions, and its response replaces the stale entry.)
			fc := f // a copy, so that f itself stays on the stack
			prev = &fc
		}
	}
	if rq.OnlyIfCached {
		v.gatewayTimeout(w, r)
		return true
	}
	// A request within the stale-while-revalidate window that starts no
	// refresh (refreshable) runs here: its run's failure is answered with
	// the entry the window would have served.
	var stale *found
	if prev != nil && j.answersFailure() {
		stale = prev
	}
	if r.Method == http.MethodHead {
		if rq.NoStore {
			prev = nil // its response must not freshen the entry either
		}
		v.head(w, r, base, prev, stale, ttl)
		return true
	}
	past := time.Duration(math.MaxInt64) // no entry: a waiter's answer may be as stale as any
	if prev != nil {
		past = pastFresh(prev.e, prev.e.clockAt(now))
	}
	refuses := v.refusesStale(rq, past)
	st := &runState{base: base, f: f, ttl: ttl, stale: stale, staleOnError: j.staleOnlyAsked || refuses, freshOnly: refuses || rq.NoCache}
	// A no-store request does not lead the flight of its key: its response,
	// never stored, would leave every request waiting for it to run the
	// handler itself.
	v.runExt(w, r, st, prev, rq, j.forced || rq.NoStore)
	return true
}

// serveDown serves a GET whose lookup failed (the backend is down or slow)
// as ServeHTTP does: the handler serves, nothing is stored, and identical
// requests wait for one run (of their variant, when the page was last seen
// to vary) rather than all reaching the origin. What may join or lead a
// run is decided as with the backend up (runExt, miss): a request with
// Authorization without UserKey runs alone, a Range or precondition leads
// as any (its 206 or 412 hands the waiters on), and a response refused
// for what it is (private, Set-Cookie, Vary: *) answers its own request
// only. Not knowing
// whether an entry is stored, which decides it with the backend up, a
// request whose directives would refuse some entry (no-cache, no-store,
// max-age, min-fresh) runs alone. A HEAD passes through; only-if-cached is
// answered 504.
func (v *view) serveDown(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, rq httpcache.CacheControl) {
	switch {
	case rq.OnlyIfCached:
		v.gatewayTimeout(w, r)
		return
	case r.Method != http.MethodGet:
		v.pass(w, r, reasonBackend)
		return
	}
	st := &runState{base: base, f: v.downFound(r, base), ttl: ttl, down: true}
	v.runExt(w, r, st, nil, rq, rq.NoCache || rq.NoStore || rq.MaxAge.Valid || rq.MinFresh.Valid)
}

// refreshAheadExt is refreshAhead for a view with the options of issue 16.
// In a SharedCache view the refresh is the one stale-while-revalidate
// starts: a conditional request for the entry f, whose response is stored,
// or freshens f, under RFC 9111's rules, as any other; the refresh starts
// within RefreshAhead of the end of f's freshness.
func (v *view) refreshAheadExt(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, f *found, rq httpcache.CacheControl, now time.Time) {
	if v.sh == nil {
		v.refreshAhead(w, r, base, ttl, f, now)
		return
	}
	at := f.e.clockAt(now)
	if !aheadDue(f.e, v.cfg.ahead, at) || !v.refreshable(r, f.spec.namesOrNil()) {
		return
	}
	fc := *f // a copy, so that the caller's stays on the stack
	// The entry is still fresh: a 5xx of the refresh leaves it as it is
	// (as the refresh stale-while-revalidate starts leaves an entry within
	// stale-if-error), never replaces it, whatever freshness it declares.
	st := newRefresh(runState{base: base, f: found{key: base}, ttl: ttl, stale: &fc, ahead: true},
		refreshRun{outer: w.Header(), hold: aheadHoldFor(v.cfg.ahead, f.e), aim: aimAt(f.e, at)})
	v.runExt(nil, r, st, &fc, rq, false) // counted as it runs (refreshInBackground)
}

// usable reports whether a stored snapshot may answer r: in a SharedCache
// view, no snapshot whose status the view no longer stores (a 5xx, a 4xx
// but 404, 405, 410 and 414: httpcache.UnsharedStatus) that an earlier
// version stored, neither fresh nor stale (the lookup is then a miss); and
// without UserKey, a request with Authorization only gets a response that
// says it may (RFC 9111 section 3.5). With a nil snap, it reports whether
// every response may answer r.
func (v *view) usable(r *http.Request, snap *httpcache.Snapshot) bool {
	if v.sh == nil {
		return true
	}
	if snap != nil && httpcache.UnsharedStatus(snap.Status) {
		return false
	}
	if v.cfg.userFunc != nil || len(r.Header["Authorization"]) == 0 {
		return true
	}
	return snap != nil && v.sh.Reuse(snap.JudgedHeader()).Shareable
}

// judge decides what a stored entry may do for a request with directives rq
// (zero unless HonorRequestCacheControl).
func (v *view) judge(f found, rq httpcache.CacheControl, now time.Time) judgement {
	swr, sie, noStale := v.cfg.swr, v.cfg.sie, false
	asked := time.Duration(0) // the request's own stale-if-error, when longer
	// How far past its freshness the entry is: read where it is used, so
	// that a fresh hit (the most common judgement) pays for no reading of
	// the entry's clock (entry.clockAt); only a request's min-fresh
	// (valid only under HonorRequestCacheControl) reads it of a fresh
	// entry.
	var past time.Duration
	if !f.fresh || rq.MinFresh.Valid {
		past = pastFresh(f.e, f.e.clockAt(now))
	}
	switch {
	case f.fresh:
	case v.sh != nil:
		// rq's stale-if-error (zero unless HonorRequestCacheControl) is
		// this request's: only its own run is answered stale, and only
		// when its handler fails, or that of the run it waited for in its
		// process (viewResult.failed; the requests waiting for the run
		// without one of their own each run the handler on failure; see
		// runState.staleOnError).
		u := v.sh.Reuse(f.snap.JudgedHeader())
		swr, sie, noStale = u.StaleWhileRevalidate, u.StaleIfError, u.NoStale
		asked = v.sh.StaleIfError(u, rq)
	case v.cfg.honorRequest:
		// The view's own StaleWhileRevalidate and StaleIfError are its
		// program's choice; a client's max-stale is not, and a response
		// that forbids serving it stale is not served so to the client
		// (RFC 9111 sections 4.2.4 and 5.2.2.2; s-maxage implies
		// proxy-revalidate, and a view serves many users).
		cc := httpcache.ParseCacheControl(f.snap.JudgedHeader()["Cache-Control"])
		noStale = cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge.Valid
	}
	// past is negative (or 0 under Forever) when StaleIf declared a fresh
	// entry stale.
	j := judgement{staleIfError: !f.fresh && sie > 0 && past < sie}
	if !f.fresh && !j.staleIfError && asked > 0 && past < asked {
		j.staleIfError, j.staleOnlyAsked = true, true
	}
	if rq.NoCache && j.staleIfError {
		// A request with no-cache is answered with no stored response
		// that its origin has not validated (RFC 9111 sections 4 and
		// 5.2.1.4), so not with one in place of its run's failure: the
		// view's StaleIfError and the response's stale-if-error let a
		// cache serve stale (RFC 5861 section 4), they do not make a
		// client accept it. The request's own stale-if-error does, within
		// its window (bounded as judge bounds it above).
		own := v.sh != nil && !noStale && rq.StaleIfError.Valid &&
			past < min(rq.StaleIfError.Duration(), v.sh.MaxStaleIfError)
		j.staleIfError, j.staleOnlyAsked = own, own
	}
	if v.cfg.honorRequest {
		// An entry stored by a clock ahead of this one is of age 0, never
		// younger (as Age is counted).
		age := max(boottime.Elapsed(f.snap.StoredAt, now), 0)
		if rq.NoCache || rq.MaxAge.Valid && age > rq.MaxAge.Duration() ||
			f.fresh && f.e.FreshUntil != 0 && rq.MinFresh.Valid && -past < rq.MinFresh.Duration() {
			j.forced = true
			return j
		}
		if !f.fresh && !noStale && (rq.MaxStaleAny || rq.MaxStale.Valid && past <= rq.MaxStale.Duration()) {
			j.verdict = useStale
			if swr > 0 && past < swr {
				// Within the window, as a request without max-stale:
				// the refresh starts, so that the entry does not stay
				// stale until such a request comes.
				j.verdict = useStaleRevalidate
			}
			return j
		}
	}
	switch {
	case f.fresh:
		j.verdict = useFresh
	case swr > 0 && past < swr && !v.refusesStale(rq, past):
		j.verdict = useStaleRevalidate
	}
	return j
}

// refusesStale reports whether a request with directives rq refuses a
// response stale by past: one with max-age or min-fresh (RFC 9111
// sections 5.2.1.1, 5.2.1.3), or with a max-stale=N shorter than past,
// which bounds the staleness the client accepts (section 5.2.1.2). No
// stale-while-revalidate of the response overrides them (RFC 5861 section
// 3 lets a cache serve stale, it does not make a client accept it), nor
// does a Lease held elsewhere; stale-if-error still answers a failure of
// the request's own run (RFC 5861 section 4 applies "regardless of other
// freshness information"; see runState.staleOnError).
//
// judge serves every stale entry that the request's max-stale accepts
// (useStale) before stale-while-revalidate or the lease is considered,
// but for an entry whose response forbids serving stale (must-revalidate,
// proxy-revalidate, s-maxage, no-cache), which max-stale never lifts
// (TestSharedCacheMaxStaleWithMaxAge): the view's own
// StaleWhileRevalidate may still serve that one, to a request whose
// max-stale accepts it as to one without max-stale
// (TestMaxStaleWiderThanEntryKeepsSWR). A max-stale without a value
// accepts every entry that may be served stale.
func (v *view) refusesStale(rq httpcache.CacheControl, past time.Duration) bool {
	return v.cfg.honorRequest && (rq.MaxAge.Valid || rq.MinFresh.Valid || rq.MaxStale.Valid && past > rq.MaxStale.Duration())
}

// runExt runs the handler for r: in the background (w nil), at once
// (forced: the request wants more than the stored entry gives), or as the
// flight of its key. prev is the stored entry to revalidate, if any. It
// reports false when a background run was not started (see revalidate).
func (v *view) runExt(w http.ResponseWriter, r *http.Request, st *runState, prev *found, rq httpcache.CacheControl, forced bool) bool {
	resolved, _ := v.c.resolveTTL(st.ttl) // validated at construction
	// The request's no-store covers its own response, not the cache's
	// background refresh (w nil), which others' hits wait for.
	x := &extRun{client: r, noStore: rq.NoStore && w != nil, ttl: resolved}
	st.ext = x
	if v.sh != nil {
		x.replaces = prev
		x.rules = *v.sh
		x.rules.MaxLifetime = resolved
		x.precondition = preconditioned(r)
		if w != nil {
			// Hit-for-pass (Varnish's): the last response of the key was
			// refused for what it is (private, no-store, too large, a
			// status not stored: view.passed), so no entry will answer
			// the client's validators. Stripped, they would have the
			// origin behind a proxy send the whole body on every
			// revalidation, for a 304 the view makes of it; passed on, the
			// origin answers 304 itself. Otherwise the run is as any
			// other: keyed, recorded, judged, and stored when it may be
			// (a 200 to a conditional request may; that clears the mark),
			// and a 200 that matches them still makes a 304. It leads no
			// flight: its 304 answers its client alone. A Range or
			// precondition request, whose 206 or 412 hands its waiters
			// on, is left as it is.
			st.passValidators = prev == nil && !x.precondition && conditional.Request(r) &&
				v.passed.has(st.f.key, v.c.clock())
			r = v.conditional(r, st, prev)
		}
	}
	switch {
	case w == nil:
		if prev != nil && prev.key != "" {
			st.f.key = prev.key // the variant's own refresh
		}
		if prev != nil && prev.e != nil {
			st.refresh.replaces = prev.e.Created // see view.replacedSince
		}
		return v.refreshInBackground(v.slotsFor(r), st, func() *http.Request {
			r2 := v.backgroundRequest(r, prev.spec.namesOrNil())
			// The refresh is judged as the request it makes, not as the
			// client's: without its Range and preconditions (left out by
			// backgroundRequest), a cacheable 301 or 404 with freshness is
			// stored as a miss stores it, not refused as the answer to a
			// Range or If-Match the origin never saw.
			x.client, x.precondition = r2, preconditioned(r2)
			if v.sh == nil {
				return r2
			}
			return v.conditional(r2, st, prev)
		})
	case forced || st.passValidators:
		v.run(w, r, st)
	default:
		// A Range or precondition request (x.precondition), whose 206 or
		// 412 may not be stored for the others, leads a run as any: a
		// handler that ignores those fields makes the 200 that answers its
		// waiters, from the entry as hits are; one that answers it alone
		// (prepareRun: refused for its status) hands them on to a new
		// leader (viewResult.alone). Told to join only, N such misses ran
		// the handler N times: collapsing any client could defeat.
		v.miss(w, r, st)
	}
	return true
}

// preconditioned reports whether r has Range, If-Range, If-Match or
// If-Unmodified-Since, in any spelling with '_' too ("If_Match"), which a
// CGI-style origin reads as the field (see httpcache.HasField): its 206 or
// 412 answers r alone (extRun.precondition).
func preconditioned(r *http.Request) bool {
	return len(r.Header["Range"]) > 0 || httpcache.HasField(r.Header, "If-Range") ||
		httpcache.HasField(r.Header, "If-Match") || httpcache.HasField(r.Header, "If-Unmodified-Since")
}

// conditional returns the request the handler of a SharedCache view gets:
// without the client's If-None-Match and If-Modified-Since (answered from
// the stored response), with the validators of prev when it has some.
// Their spellings with '_' go too (see withoutValidators).
func (v *view) conditional(r *http.Request, st *runState, prev *found) *http.Request {
	if prev == nil && !httpcache.HasField(r.Header, "If-None-Match") && !httpcache.HasField(r.Header, "If-Modified-Since") {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	if prev == nil || !prev.snap.Conditional(r2.Header) {
		httpcache.DeleteField(r2.Header, "If-None-Match")
		httpcache.DeleteField(r2.Header, "If-Modified-Since")
		return r2
	}
	st.ext.prev = prev
	return r2
}

// prepareRun adapts the recorder of a run to the options of issue 16.
func (v *view) prepareRun(st *runState, rec *httpcache.Recorder) {
	x := st.ext
	x.reqTime = v.c.clock()
	// A run again after a 304 that validated nothing (notModified) times
	// and dates its own response.
	x.respTime, x.date = time.Time{}, nil
	check := rec.Check
	if v.sh != nil {
		rec.StoreFlushed = true
		// The targeted field replaces Cache-Control for this view: one a
		// writer below adds ("CDN-Cache-Control: private") is judged too.
		rec.Targeted = x.rules.TargetedField
		check = func(status int, h http.Header) httpcache.Reason {
			var reason httpcache.Reason
			x.fr, reason = x.rules.Response(x.client, status, h, x.reqTime, x.respTime)
			x.birth = x.respTime.Add(-x.fr.Age)
			if x.precondition && status != http.StatusOK && reason != httpcache.ReasonPartial {
				// The answer to the client's own Range or precondition (a
				// 412, a 416), whatever its header says: refused for its
				// status, which hands the run's waiters on to a new
				// leader (view.run) rather than have each run the handler.
				reason = httpcache.ReasonStatus
			}
			if reason != httpcache.ReasonStatus && partBody(status, h) {
				// A part is its request's alone, refused as such, with
				// or without freshness of its own, and whatever else
				// would keep it out (private, no-store, Set-Cookie):
				// not a full response (RFC 9111 section 4.3.3), it
				// says nothing of the representation, so it neither
				// drops the stale entry it revalidated nor marks the
				// key hit-for-pass (refusedForItself), as a 206 does
				// not; the next plain request's revalidation decides.
				// (Nor is it refused as too large: refused here, at
				// commit, its body is never held.) A refusal for its
				// status stays one: the answer to the client's own
				// precondition, or a status never stored.
				reason = httpcache.ReasonPartial
			}
			return reason
		}
		divert, onFail := rec.Divert, rec.OnFail
		rec.Divert = func(status int) bool {
			if status == http.StatusNotModified && x.prev != nil {
				x.respTime = v.c.clock()
				return true
			}
			return divert != nil && divert(status)
		}
		rec.OnFail = func(reason httpcache.Reason) {
			if reason != httpcache.ReasonDiverted || rec.Diverted() != http.StatusNotModified {
				onFail(reason) // else the waiters get the revalidated entry
			}
		}
		// A cache dates a response it forwards or stores without Date
		// when it received it (RFC 9110 section 6.6.1): the miss goes out
		// with that Date, and the entry stores it (run), so that each hit
		// sends the time the response was received, and Age the time
		// since (RFC 9111 section 4). Dated when served, a hit would have
		// a downstream cache count its Age twice, and read a lifetime
		// from Expires shorter by it. Its freshness is judged from
		// respTime itself, not from the Date rounded down to the second,
		// as freshen judges an undated 304.
		rec.Date = func() []string {
			x.date = httpDate(receivedAt(x.respTime, v.c.clock))
			return x.date
		}
	}
	rec.Check = func(status int, h http.Header) httpcache.Reason {
		// Received when its header was committed (RFC 9111 section 4.2.3's
		// response_time), however often the recorder judges it again (a
		// judged field changed past the commit): the Date a SharedCache
		// view gives it (rec.Date), its lifetime from Expires and its age
		// count from that one time, which a recheck at the end of a slow
		// body must not move.
		if x.respTime.IsZero() {
			x.respTime = v.c.clock()
		}
		if x.noStore {
			return reasonRequestNoStore
		}
		return check(status, h)
	}
}

// newSnapshot builds the snapshot of a response a run stores, with header
// h less the fields an outer middleware set, of which sent names those
// the entry must not fill in (httpcache.Sent).
func (v *view) newSnapshot(st *runState, status int, h http.Header, body []byte, now time.Time, sent httpcache.Sent) *httpcache.Snapshot {
	if st.ext == nil || v.sh == nil {
		return httpcache.NewSnapshotSent(status, h, body, now, false, sent)
	}
	return httpcache.NewSnapshotSent(status, h, body, st.ext.birth, true, sent)
}

// entryFor returns the entry a run writes at now for ttl (as resolved). In
// a SharedCache view it is fresh until its birth plus its lifetime, and
// kept past that for its stale windows and, when it has a validator, for
// ttl (Forever: always) so that it can be revalidated: ttl past its
// freshness, or past now for a response stale on arrival. Kept for
// neither, a response without lifetime (max-age=0, public alone) is over
// at now: never served (see dead).
func (v *view) entryFor(st *runState, snap *httpcache.Snapshot, now time.Time, ttl time.Duration) *entry {
	if st.ext == nil || v.sh == nil {
		return newEntry(now.UnixNano(), ttl, v.extra)
	}
	x := st.ext
	fresh := addNanos(x.birth.UnixNano(), x.fr.Lifetime)
	keep := max(fresh, addNanos(fresh, x.fr.StaleWhileRevalidate), addNanos(fresh, x.fr.StaleIfError))
	if snap.ETag != "" || !snap.LastModified.IsZero() {
		if x.ttl <= 0 {
			keep = 0
		} else {
			keep = max(keep, addNanos(max(fresh, now.UnixNano()), x.ttl))
		}
	}
	return &entry{Created: now.UnixNano(), FreshUntil: fresh, StaleUntil: keep}
}

// dead reports whether e, an entry to be written at now, is over already:
// no request can be served it, fresh or stale, nor revalidate it.
func dead(e *entry, now time.Time) bool {
	return e.StaleUntil != 0 && e.StaleUntil <= now.UnixNano()
}

// life is how long an entry the view writes for ttl (as resolved: 0 is
// forever) may be kept, which the version keys it is written under must
// outlive (store.versions): ttl plus its stale windows, and in a
// SharedCache view ttl past a freshness of up to ttl (entryFor).
func (v *view) life(ttl time.Duration) time.Duration {
	if v.sh != nil {
		return lifeOf(ttl, max(v.extra, ttl))
	}
	return lifeOf(ttl, v.extra)
}

// addNanos is t+d in Unix nanoseconds, saturating, and never 0 or less (0
// means "never" in an entry).
func addNanos(t int64, d time.Duration) int64 {
	if d > 0 && t > math.MaxInt64-int64(d) {
		return math.MaxInt64
	}
	return max(t+int64(d), 1)
}

// notModified handles the 304 a handler gave to the cache's conditional
// request: when it validates the stored entry, the entry is freshened with
// its header (RFC 9111 section 4.3.4, see freshen), stored, handed to the
// waiters and served to the client (its own 304 if it asked
// conditionally), with the 304's Set-Cookie and Server-Timing, which
// describe this response only and are never stored; otherwise the handler
// runs again without conditions. A 304 that may not be shared (mayShare:
// it sets a cookie, or answers Authorization without saying it may be
// shared) is served to its client alone and freshens nothing. The entry
// is freshened only once the served status has passed the writers outside
// the view (outerJudge): a Set-Cookie, Cache-Control or Vary they add then
// (a session middleware's, for a client it signs in) is judged as the
// 304's own, and keeps the entry as it was, as it keeps a 200 out.
func (v *view) notModified(w http.ResponseWriter, r *http.Request, st *runState, h304 http.Header, before http.Header, vs versionSet, rp *runReport) {
	x := st.ext
	prev := x.prev.snap
	restoreHeader(w.Header(), before)
	// A 304 to a revalidation that began before an invalidation (a write
	// landed since the lookup that found prev) or a Clear does not vouch
	// for prev: the origin may not have changed its validators with the
	// write, or with the update of the data that the program cleared the
	// cache for (views without tags record no versions to tell). It is
	// treated as a 304 that does not validate. (With x.noStore or x.unread
	// nothing is stored, and vs may not have been read.) So is a 304 whose
	// Vary names a field the stored response does not vary on
	// (varyWidens): its fields were made for this request's value of it.
	if !prev.Validates(h304, false) || varyWidens(x.prev, h304) || v.c.store.clears.Load() != x.prev.cleared ||
		!x.noStore && !x.unread && !writtenUnder(x.prev, vs) {
		x.prev = nil
		r2 := new(http.Request)
		*r2 = *r
		r2.Header = r.Header.Clone()
		httpcache.DeleteField(r2.Header, "If-None-Match")
		httpcache.DeleteField(r2.Header, "If-Modified-Since")
		v.run(w, r2, st)
		return
	}
	// A Clear that begins from now on keeps the freshened entry out of the
	// store (store.unlessCleared), as one before the run began would.
	st.cleared = x.prev.cleared
	deleted := v.freshenedDeletions(prev, h304, before)
	snap, judged, reason := v.freshenJudged(x, prev, h304, nil, before, deleted)
	now := v.c.clock()
	if st.background {
		v.settle304(r, st, h304, judged, vs, snap, reason, now)
		return
	}
	// The origin answered this client's request: a cookie it set (a
	// rotated session) or timings it exposed are this client's.
	for _, name := range [...]string{"Set-Cookie", "Server-Timing"} {
		if vs := h304[name]; len(vs) > 0 {
			w.Header()[name] = vs
		}
	}
	// The entry is freshened once the served status and the first body
	// bytes (or a zero-length write) have passed the outer writers, before
	// the rest goes out: a field they add then (a session middleware's
	// Set-Cookie, as the status passes or at its first Write) is judged as
	// the 304's own, as a 200's is (httpcache.Recorder's recheck).
	oj := &outerJudge{w: w, targeted: x.rules.TargetedField, unjudged: func() {
		// Not judged in time (a slow writer outside): neither freshened
		// nor dropped (the 304 says the entry is good; only this
		// client's added fields are unknown), and the waiters take a run
		// of their own, as when the client left.
		v.flight.release(st.call, viewResult{retry: true})
	}, settle: func(added http.Header) {
		if len(added) == 0 {
			v.settle304(r, st, h304, judged, vs, snap, reason, now)
			return
		}
		h := withAdded(h304, prev.JudgedHeader(), added)
		s2, j2, r2 := v.freshenJudged(x, prev, h304, h, before, deleted)
		v.settle304(r, st, h, j2, vs, s2, r2, now)
	}}
	v.serveFor(rp, oj, x.client, snap, now, httpcache.Hit)
	oj.finish()
}

// settle304 stores snap, the entry x.prev freshened from h (the header of
// a 304 that validates it, as committed, with the fields the outer writers
// added as its status passed them; see outerJudge), unless it may not be
// (reason, why freshenJudged refused it, or one of the cases below: StoreIf
// judges the freshened response, its header judged as freshenJudged
// returns it), and hands the outcome to the waiters of st's flight.
func (v *view) settle304(r *http.Request, st *runState, h, judged http.Header, vs versionSet, snap *httpcache.Snapshot, reason httpcache.Reason, now time.Time) {
	x := st.ext
	// A 304 that leaves the entry to be revalidated before every reuse
	// (no-cache, max-age=0) vouches for it for this request only: expired
	// on arrival, it is served to none of the waiters, which each run
	// their own (viewResult.expires), as for such a 200 (run).
	res := viewResult{snap: snap, names: x.prev.spec.namesOrNil(), variant: x.prev.variant, vs: vs, check: new(versionCheck),
		expires: addNanos(x.birth.UnixNano(), x.fr.Lifetime)}
	switch {
	case !mayShare(x, h) || varyWidens(x.prev, h):
		// This client's alone (it sets a cookie, or its fields may be its
		// account's), or made for its value of a field the entry does not
		// vary on (a Vary an outer writer added; the 304's own was read
		// before): served to it, neither stored nor handed on, and the
		// entry left as it was for the others.
		res = viewResult{}
	case r.Context().Err() != nil:
		// Made after the request's context ended: its client may have
		// left, and the flight handed on to a new leader (releaseIfLeft),
		// whose newer response this one must not overwrite. Served, if
		// anyone still waits for it; neither stored nor handed on, as a
		// 200 made then.
		res = viewResult{retry: true}
	case reason != httpcache.ReasonNone:
		if !st.alone && v.mayDrop(r, x, x.prev, h) && v.commit(r, st) {
			v.dropRefreshed(r, x.prev, reason)
		}
		res = viewResult{}
	case x.noStore || x.unread:
		// Without the versions (unread), nothing tells whether a write
		// landed since the lookup that found prev: the 304 vouches for it
		// for this client only, as before the versions were read apart.
		res = viewResult{}
	case v.refusedByStoreIf(snap, judged):
		// As a refusal of freshen's: the origin's answer, as the view's
		// program judges it, may not be stored.
		if v.mayDrop(r, x, x.prev, h) && v.commit(r, st) {
			v.dropRefreshed(r, x.prev, reasonFiltered)
		}
		res = viewResult{}
	default:
		switch v.store(r, st, res, x.ttl, now, vs) {
		case httpcache.ReasonNone:
		case reasonOverrun:
			// Another process stored a response since this run's look
			// under its lease (view.newerSinceLease): the waiters join
			// again and find it, as run's do.
			res = viewResult{retry: true}
		default:
			res = viewResult{}
		}
	}
	v.flight.release(st.call, res)
}

// outerJudge is the writer through which a SharedCache view serves the
// entry a 304 validated (notModified): at the final status it takes the
// judged fields of the header (httpcache.JudgedFields) and passes the
// status on to the writers outside the view; at the first Write it writes
// the first bytes of the body (at most firstWrite, which net/http buffers,
// so that no client can block the write; at finish, a zero-length write
// for a response without a body: an empty one, a 304 to a conditional
// client), and only then calls settle with the judged fields they added
// (a session middleware, alexedwards/scs's LoadAndSave, adds Set-Cookie,
// Vary: Cookie and Cache-Control as the status passes; a writer that holds
// the status until the body starts, at its first Write), before the rest
// of the body is written: the entry is stored, or not, and handed to the
// waiters before the client reads the body, as a 200's Recorder does
// (Hold; httpcache.Recorder.Finish writes its first bytes below before its
// last judgement too).
type outerJudge struct {
	w        http.ResponseWriter
	targeted string
	settle   func(added http.Header)
	unjudged func()      // settles a response whose added fields were not judged in time
	pre      http.Header // the judged fields before the status passed
	done     bool        // the final status passed
	settled  bool        // settle was called
}

// firstWrite is how many bytes of the body outerJudge writes below before
// it settles: net/http's sniffing length, which it buffers.
const firstWrite = 512

func (o *outerJudge) Header() http.Header { return o.w.Header() }

// PassesHeaderTo returns the writer o hands the header on to, unchanged
// (httpcache.HeaderPasser).
func (o *outerJudge) PassesHeaderTo() http.ResponseWriter { return o.w }

func (o *outerJudge) WriteHeader(code int) {
	if o.done || httpx.Informational(code) {
		o.w.WriteHeader(code)
		return
	}
	o.done = true
	o.pre = httpcache.JudgedFields(o.w.Header(), o.targeted)
	o.w.WriteHeader(code)
}

func (o *outerJudge) Write(p []byte) (int, error) {
	if !o.done {
		o.WriteHeader(http.StatusOK)
	}
	if o.settled {
		return o.w.Write(p)
	}
	// The first bytes commit a writer below that holds the status until
	// the body starts; what it added then is judged before the rest.
	first := min(len(p), firstWrite)
	n, err := o.writeFirst(p[:first])
	if err != nil || n < first || n == len(p) {
		return n, err
	}
	m, err := o.w.Write(p[n:])
	return n + m, err
}

// writeFirst writes b, the first bytes of the body (or none), below and
// judges what the writers below added then. Where the writer below is not
// net/http's own, which buffers them, it waits at most
// httpcache.FirstWriteWait for the write, as a Recorder's Finish does: a
// slow outer writer (a throttle, a writer that flushes to a client that
// does not read) would hold the waiters of the revalidation as long as it
// likes. Past that wait the fields it may add cannot be judged in time: the
// entry is neither freshened nor dropped (unjudged: how fast the writers
// outside write may be the client's doing, which must not remove the page
// for the others), the waiters go on, and the write is waited for before
// anything else is written below. A panic in the write is raised here,
// once the waiters are told.
func (o *outerJudge) writeFirst(b []byte) (int, error) {
	if httpcache.BuffersFirstWrite(o.w) {
		n, err := o.w.Write(b)
		o.judge()
		return n, err
	}
	pw := httpcache.StartWrite(o.w, b)
	if pw.Wait(httpcache.FirstWriteWait) && !pw.Panicked() {
		o.judge()
	} else {
		o.refuse() // the waiters are told before a panic is raised
	}
	return pw.Result()
}

// refuse settles a response whose added fields could not be judged: it
// does not freshen the entry, nor remove it.
func (o *outerJudge) refuse() {
	o.settled = true
	o.unjudged()
}

// judge calls settle with the judged fields the writers below added since
// the status passed them.
func (o *outerJudge) judge() {
	o.settled = true
	o.settle(httpcache.Added(o.pre, httpcache.JudgedFields(o.w.Header(), o.targeted)))
}

// finish settles a response that wrote no body (a zero-length write first
// commits a writer below that waits for one: its fields are judged), or
// one that never committed a status (none is served so; settle must still
// hand the outcome to the waiters).
func (o *outerJudge) finish() {
	switch {
	case !o.done:
		o.done, o.settled = true, true
		o.settle(nil)
	case !o.settled:
		// A status without a body (a 304 to a conditional client) may have
		// the write refused (ErrBodyNotAllowed, by net/http's HTTP/2
		// server); the writer below committed all the same.
		_, _ = o.writeFirst(nil)
	}
}

// receivedAt returns respTime, the time Check read as a response's
// receipt, or now where Check did not run: the recorder commits a
// response it refuses before judging (one that declares a Trailer, an
// event stream) without calling Check, and dates it all the same.
func receivedAt(respTime time.Time, now func() time.Time) time.Time {
	if respTime.IsZero() {
		return now()
	}
	return respTime
}

// refusedByStoreIf reports whether StoreIf refuses snap, an entry a 304 or
// a HEAD 200 freshened, whose header was judged as judged (freshenJudged):
// it runs after the built-in rules, on the response as its client got it,
// as it does on a 200 (run). It gets a copy of judged.
func (v *view) refusedByStoreIf(snap *httpcache.Snapshot, judged http.Header) bool {
	return v.storeIf != nil && !v.storeIf(&Response{Status: snap.Status, Header: judged.Clone(), Body: snap.Body})
}

// withAdded returns h, the header of a 304 or HEAD 200 that validates a
// stored response with header stored, with the judged fields the outer
// writers added as its status passed them (added; see outerJudge): each
// added value joins h's field, or the stored one when h has none (which
// h leaves in place: an added no-transform keeps the stored max-age),
// so that mayShare, varyWidens and freshen judge the response its client
// got; the entry is updated from h alone (freshenJudged). h itself is
// returned when nothing was added, and is never changed.
func withAdded(h, stored, added http.Header) http.Header {
	if len(added) == 0 {
		return h
	}
	h2 := make(http.Header, len(h)+len(added))
	for k, vs := range h {
		h2[k] = vs
	}
	for k, vs := range added {
		base := h[k]
		if len(base) == 0 {
			base = stored[k]
		}
		h2[k] = append(slices.Clip(base), vs...)
	}
	return h2
}

// writtenUnder reports whether the stored entry f was written under vs,
// the versions a run read before its handler ran: no invalidation (a
// write, Cache.InvalidatePath, Cache.InvalidateTags) landed between the
// lookup that found f, current then, and that read. Otherwise the
// response that validates f (a 304, a HEAD's 200) must not freshen it
// under vs: an origin whose validators did not change with the write (a
// Last-Modified of one second's resolution, RFC 9110 section 8.8.2.1)
// would vouch for the body from before it, stored as current after it.
func writtenUnder(f *found, vs versionSet) bool {
	return slices.Equal(f.e.TagKeys, vs.keys) && slices.Equal(f.e.Versions, vs.ns)
}

// dropRefreshed deletes the stored response f, which the origin's 304 (or
// a HEAD's 200) validated with a header that may not be stored for reason
// (private, no-store: the origin no longer shares it), or which a full
// response not stored for reason replaces (dropReplaced). Left as it was, it
// would still be served stale to everyone within its stale-while-
// revalidate or stale-if-error window, each stale hit revalidating to the
// same refusal. Its callers leave f where the refusal may be the request's
// own rather than the resource's (mayDrop): a request with credentials the
// key does not hold (personal), a client that left. A failed delete is
// logged and counted: the entry ends with its stale window. The other type
// form's entry of the page goes too (otherFormKeys).
func (v *view) dropRefreshed(r *http.Request, f *found, reason httpcache.Reason) {
	ctx, cancel := v.c.store.bound(context.WithoutCancel(r.Context()))
	defer cancel()
	// Gone for the other type form's requests too (otherFormKeys).
	for _, k := range append([]string{f.key}, v.otherFormKeys(ctx, r, f.key, v.c.clock())...) {
		if err := v.c.store.del(ctx, k); err != nil {
			v.failOpen(r, "view drop refused revalidation ("+string(reason)+")", err)
		}
	}
}

// dropReplaced removes the stored entry a SharedCache run was to replace
// or freshen (extRun.replaces) when the handler's final response, with
// status and the header h it committed, is not stored for reason, and the
// reason is the resource, not the request: the origin answered the
// revalidation with a new representation (RFC 9111 section 4.3.3: the
// stored one is no longer suitable) that it does not share. Left stored,
// the old response would be served in place of the origin's next error
// within stale-if-error, and stale to everyone within
// stale-while-revalidate, each stale hit refreshing to the same refusal:
// the new content would never reach a client, as for a 304 that says
// private (dropRefreshed).
//
// Any client may send the request that revalidates a stale entry (a
// refresh of stale-while-revalidate carries its header fields), so what
// drops the entry must be what every client would get. It is dropped only
// when all of these hold (refusedForItself, mayDrop):
//   - the status is a 2xx or 3xx (neither a 206, a 226 nor a 304: answers
//     to the client's Range, A-IM or validators), a 404 or a
//     410; never another 4xx (a 403 for a bad session or API key, a 406
//     for an Accept, a 429 from a per-client rate limit, a 408 or 499 for
//     a client that left: answers to the request), a 1xx or a 5xx (a
//     failure, section 4.3.3);
//   - it is refused for what it is: no-store, private, no freshness,
//     Vary: *, a status a shared cache does not store, a body past
//     MaxBodySize, a trailer or a stream, StoreIf, or Vary names the view
//     does not store; not for Set-Cookie (a session given to a client
//     that had none, or renewed), the request's no-store, the backend, a
//     body that disagrees with its Content-Length;
//   - it does not answer the client's own Range or precondition (only a
//     200 does), and is not a part (partBody: a 200 with Content-Range,
//     refused as partial whatever else it says, prepareRun; one refused
//     before it is judged, for a trailer or a stream, too);
//   - the request carried no credentials the key does not hold: an
//     Authorization or a Cookie that neither UserKey (naming a user for
//     the request) nor the stored entry's Vary keys, unless the response
//     says itself that it may be shared (public or s-maxage, without
//     private): otherwise it may be that user's page;
//   - the client has not left (its context is not done): a handler may
//     answer a cancelled request with anything;
//   - the run is not one that gave up waiting for another's run of its
//     key (runState.alone): made in parallel with that run, it changes
//     nothing stored, and must not delete what that run stored meanwhile;
//     nor one taken over by such a waiter (viewFlight.commit), whose newer
//     run decides.
func (v *view) dropReplaced(r *http.Request, st *runState, status int, h http.Header, reason httpcache.Reason) {
	x := st.ext
	if v.sh == nil || x == nil || x.replaces == nil || st.alone || partBody(status, h) ||
		!refusedForItself(x, status, reason) || !v.mayDrop(r, x, x.replaces, h) || !v.commit(r, st) {
		return
	}
	v.dropRefreshed(r, x.replaces, reason)
}

// mayDrop reports whether a refusal to store h, the header of the response
// to r (x's run) that revalidates or replaces f, may drop f for everyone
// (dropRefreshed): the refusal must be the resource's, not one only r's
// client would get. It may not when r carries credentials the key does
// not hold (personal: the answer may be that user's private page), or when
// r's context has ended (a handler may answer a client that left with
// anything). Every path that drops a refused revalidation asks it: a GET's
// 304 (notModified), a HEAD's 200 (head), a full response (dropReplaced).
func (v *view) mayDrop(r *http.Request, x *extRun, f *found, h http.Header) bool {
	return r.Context().Err() == nil && !v.personal(x, f, h)
}

// refusedForItself reports whether a SharedCache run's final response, with
// status, was refused for reason because of what it is (see dropReplaced).
func refusedForItself(x *extRun, status int, reason httpcache.Reason) bool {
	switch {
	case x.precondition && status != http.StatusOK:
		return false // the answer to the client's own Range or precondition
	case status == http.StatusNotFound || status == http.StatusGone:
		// The resource is gone: not an answer about the request.
	case status < 200 || status >= 400 || status == http.StatusPartialContent || status == http.StatusNotModified,
		status == http.StatusIMUsed: // a delta for its client's A-IM, refused as such
		return false
	}
	switch reason {
	case httpcache.ReasonStatus, httpcache.ReasonNoStore,
		httpcache.ReasonPrivate, httpcache.ReasonVaryStar, httpcache.ReasonNoFreshness,
		httpcache.ReasonTooLarge, httpcache.ReasonTrailer, httpcache.ReasonStreaming,
		reasonFiltered, reasonVaryNames, reasonVaryClient:
		return true
	}
	return false
}

// personalFields are the request fields that commonly make a response one
// user's: credentials, which no key holds unless UserKey or Vary says so.
var personalFields = [...]string{"Authorization", "Cookie"}

// personal reports whether h, the header of a response that revalidates
// or refreshes f, the stored entry of x's run, may be the answer to the credentials of x's
// request alone (see dropReplaced): the request has an Authorization or a
// Cookie that the entry's key does not hold (UserKey names no user, and
// the stored response does not vary on it), and h does not say that the
// response may be shared (public or s-maxage, without private). The
// must-revalidate that RFC 9111 section 3.5 also accepts is not enough
// here: "private, must-revalidate" and "no-store, must-revalidate" are
// what many frameworks send with a logged-in user's page.
func (v *view) personal(x *extRun, f *found, h http.Header) bool {
	names := f.spec.namesOrNil()
	found := false
	for _, name := range personalFields {
		if len(x.client.Header[name]) > 0 && !slices.Contains(names, name) {
			found = true
		}
	}
	if !found || v.cfg.userFunc != nil && v.cfg.userFunc(x.client) != "" {
		return false
	}
	cc, _ := x.rules.Directives(h)
	return cc.Private || !cc.Public && !cc.SMaxAge.Valid
}

// mayShare reports whether h, the header of a 304 or of a HEAD 200 that
// validates a stored entry, may freshen it for everyone. It may not when
// the 200 it stands for would not be stored for the request it answers:
//   - h sets a cookie. A 200 with Set-Cookie is never stored (the
//     library's rule: it begins or renews one client's session, and its
//     other fields, a CSRF token paired with the session, may be that
//     client's). freshen leaves Set-Cookie out of the stored header but
//     merges the rest, which would be served to every client.
//   - Without UserKey, the request has Authorization and h does not say
//     itself that it may be shared (public, s-maxage, must-revalidate: RFC
//     9111 section 3.5), as a 200 to such a request must
//     (httpcache.Shared.Response): judged on the header freshen merges, it
//     would borrow the stored response's public, and the requester's own
//     fields (an X-Account, rate limits, Authentication-Info) would be
//     served to every client.
//
// Such a response is this client's alone: served to it (with its
// Set-Cookie), and the entry left as it was for the others, neither
// freshened nor deleted, since the refusal may be the request's own (a
// first visit, a session renewed; see dropReplaced): a stale entry stays
// stale, and the next request revalidates it again. h is the header as
// the handler committed it, as a 200's is judged, a Set-Cookie an outer
// middleware set before the handler ran included, and so are the judged
// fields the writers outside the view added as the status passed them
// (withAdded), as the Recorder's recheck judges a 200's.
func mayShare(x *extRun, h http.Header) bool {
	if len(h["Set-Cookie"]) > 0 {
		return false
	}
	return x.rules.AllowAuthorization || len(x.client.Header["Authorization"]) == 0 || x.rules.Reuse(h).Shareable
}

// varyWidens reports whether h, the header of a 304 or of a HEAD 200 that
// validates the stored entry f, says the response varies on a field (or on
// "*") that f's Vary record does not hold. Its fields were then made for
// this request's value of that field (a CORS handler adds
// Access-Control-Allow-Origin and "Vary: Origin" only to a request with
// Origin): merged into f, which every client whose request f's key matches
// is served, one client's fields would reach all. Such a response does not
// freshen f. Names are compared as ParseVary returns them (canonical,
// sorted, without duplicates), so that spelling, order and repeats do not
// count; a Vary that names fewer fields than f's is not a widening (f's
// key already holds them). h is the header as committed, the fields an
// outer middleware set included, as the names of a 200 are read (run).
func varyWidens(f *found, h http.Header) bool {
	names, star := httpcache.ParseVary(h)
	if star {
		return true
	}
	stored := f.spec.namesOrNil()
	for _, name := range names {
		if !slices.Contains(stored, name) {
			return true
		}
	}
	return false
}

// freshen returns prev updated from h, the header of a 304 or of a HEAD 200
// that validates it (RFC 9111 sections 4.3.4, 4.3.5), with StoredAt its
// birth, and sets x's freshness from it: the lifetime from the updated
// header, the age from the response's own Age and Date (section 4.2.3), as
// for a 200; the stored Age and Date describe the first response, not this
// one. A response without Date is dated when it was received (RFC 9110
// section 6.6.1), so that the Date served with the entry agrees with its
// Age. The updated entry records deleted, less the fields it stores, as
// deleted (httpcache.Snapshot.Deleted; see freshenedDeletions), and outer,
// the directive fields an outer middleware set on this response
// (outerDirectives), as the outer directives it is judged by
// (httpcache.Snapshot.OuterDirectives) in place of prev's, less the
// fields it stores: h sets them itself. Its freshness is judged from the
// updated header with those (JudgedHeader), as judge and usable read it
// later. It also returns why the entry may not be stored, if it may not.
func (v *view) freshen(x *extRun, prev *httpcache.Snapshot, h, outer http.Header, deleted []string) (*httpcache.Snapshot, httpcache.Reason) {
	// An unreadable Date is replaced, as the recorder replaces a 200's.
	dated := false
	if vs := h["Date"]; len(vs) > 0 {
		_, dated = header.ParseHTTPDate(vs[0])
	}
	if !dated {
		h = withField(h, "Date", httpDate(x.respTime))
	}
	snap := prev.Freshen(h, v.cfg.statusHeader, time.Time{})
	if len(deleted) > 0 || len(snap.Deleted()) > 0 {
		snap.SetDeleted(deleted)
	}
	if len(outer) > 0 {
		kept := snap.OuterDirectives() // prev's, less the fields h sets
		merged := make(http.Header, len(kept)+len(outer))
		for k, vs := range kept {
			merged[k] = vs
		}
		for k, vs := range outer {
			merged[k] = vs
		}
		snap.SetOuterDirectives(merged)
	}
	// Response reads the updated header with this response's own Age, and
	// without a Date when it had none: its age then counts from respTime
	// itself, not from a Date rounded down to the second.
	eval := withField(snap.JudgedHeader(), "Age", h["Age"])
	if !dated {
		delete(eval, "Date")
	}
	var reason httpcache.Reason
	x.fr, reason = x.rules.Response(x.client, snap.Status, eval, x.reqTime, x.respTime)
	x.birth = x.respTime.Add(-x.fr.Age)
	snap.StoredAt = x.birth
	return snap, reason
}

// freshenJudged is freshen for a 304 or HEAD 200 with header h, as the
// handler committed it, the fields an outer middleware set before it ran
// (before, keys canonical) included. The entry is updated from the
// handler's own fields (ownFields), as a 200 is stored without the outer
// middleware's, and records the outer directive fields
// (outerDirectives), as run records them for a 200. Whether it may be
// stored is judged from those, and from judged, h with the judged fields
// the outer writers added as its status passed (withAdded; nil when they
// added none), as its client got it: an outer private or no-store refuses
// it, as it refuses a 200 (the fields a writer adds then are not stored
// either: an Expires it stamps on every response would otherwise pile up
// in the entry, one value per revalidation). It returns the updated entry,
// the header it was judged by (the stored one merged with judged, as the
// client got it: what StoreIf is shown, as the header of a 200 is), and
// why it may not be stored, if it may not. The entry records deleted as
// deleted, as freshen's does.
func (v *view) freshenJudged(x *extRun, prev *httpcache.Snapshot, h, judged, before http.Header, deleted []string) (*httpcache.Snapshot, http.Header, httpcache.Reason) {
	var js *httpcache.Snapshot
	refused := httpcache.ReasonNone
	if judged != nil || len(before) > 0 {
		if judged == nil {
			judged = h
		}
		js, refused = v.freshen(x, prev, judged, nil, deleted)
	}
	snap, reason := v.freshen(x, prev, v.ownFields(h, before), v.outerDirectives(h, before), deleted) // last: x.fr and x.birth are its
	if reason == httpcache.ReasonNone {
		reason = refused
	}
	if js == nil {
		js = snap // h is the handler's own, as judged
	}
	return snap, js.JudgedHeader(), reason
}

// freshenedDeletions returns the names of the fields that the entry prev
// freshened from h, the header of a handler's 304 or HEAD 200, records as
// deleted (httpcache.Snapshot.Deleted): those the handler deleted this time
// from the fields an outer middleware set before it ran (before, keys
// canonical), as run records them for a 200 (deletedFields), and those prev
// records that the outer middleware did not set this time, which the
// response says nothing new of. A field prev records that the handler kept
// this time is no longer deleted: a hit sends what the outer middleware
// sets, as after a 200 that kept it. Nil when there are none, as for
// nearly every entry.
func (v *view) freshenedDeletions(prev *httpcache.Snapshot, h, before http.Header) []string {
	deleted := v.deletedFields(h, before)
	for _, name := range prev.Deleted() {
		if len(before[name]) == 0 {
			deleted = append(deleted, name)
		}
	}
	return deleted
}

// ownFields returns h, the header of a handler's response, without the
// fields an outer middleware set before the handler ran (before, keys
// canonical) and the handler left as they were: they are not its response,
// and are left out of what is stored, as run leaves them out of a 200. The
// Date is kept (keepsOuter).
func (v *view) ownFields(h, before http.Header) http.Header {
	if len(before) == 0 {
		return h
	}
	own := make(http.Header, len(h))
	for k, vs := range h {
		if !slices.Equal(vs, before[k]) || v.keepsOuter(k) {
			own[k] = vs
		}
	}
	return own
}

// keepsOuter reports whether the entry stores the field k (canonical) of a
// response the handler left as an outer middleware set it before the
// handler ran, where it leaves out the others (run, ownFields): the Date,
// in a SharedCache view. It dates the response the view received, as the
// handler's own would: the miss went out with it, the response's age and
// its lifetime from Expires were judged from it, and a hit sends the
// stored Date with the Age since (RFC 9111 section 4), over the one the
// outer middleware sets on the hit's request, which would have a
// downstream cache count the age twice. A 304 or HEAD 200 that freshens
// the entry replaces it with its own (section 4.3.4), as the outer
// middleware dated it, and only one without Date is dated when received.
func (v *view) keepsOuter(k string) bool { return k == "Date" && v.sh != nil }

// withField returns a shallow copy of h with the field name set to vs, or
// without it when vs is empty.
func withField(h http.Header, name string, vs []string) http.Header {
	h2 := make(http.Header, len(h)+1)
	for k, v := range h {
		h2[k] = v
	}
	if len(vs) == 0 {
		delete(h2, name)
	} else {
		h2[name] = vs
	}
	return h2
}

// httpDate returns t as the values of a Date field.
func httpDate(t time.Time) []string { return []string{t.UTC().Format(http.TimeFormat)} }

// reasonHeaderOnly is how head's recorder refuses a HEAD's response: only
// its header is used.
const reasonHeaderOnly httpcache.Reason = "header-only"

// head answers a HEAD that no fresh entry answers. In a SharedCache view a
// 200 whose validators match the stored GET's freshens it (RFC 9111 section
// 4.3.5), unless its Vary names a field the GET's does not (varyWidens) or
// it is its client's alone (mayShare: Set-Cookie, or Authorization without
// a header that says it may be shared); one that says the GET may no longer
// be stored drops it, unless that may be the request's own answer
// (mayDrop); nothing else of a HEAD is stored.
// The 200 is judged as it left through the writers outside the view: the
// judged fields they added as its status passed (a session middleware's
// Set-Cookie) count as its own (withAdded).
// The handler gets r as its client sent it (less the query parameters the
// key leaves out: keyedRequest), with its own validators: it
// answers them for the representation r selects, and its 304, which passes
// through, can neither be stored nor freshen the entry. With stale, the
// handler's failure (a 5xx, a panic) is answered with that entry, as a
// GET's run's is (headStale).
func (v *view) head(w http.ResponseWriter, r *http.Request, base string, prev, stale *found, ttl time.Duration) {
	if v.sh == nil || prev == nil || prev.snap.Status != http.StatusOK {
		v.headStale(w, r, base, ttl, stale)
		return
	}
	// A Clear since the lookup that found prev keeps the entry it freshens
	// out of the store (found.cleared); stale answers its failure
	// (runHead).
	st := &runState{base: base, f: *prev, ttl: ttl, cleared: prev.cleared, stale: stale}
	resolved, _ := v.c.resolveTTL(ttl)
	x := &extRun{client: r, prev: prev, ttl: resolved, rules: *v.sh}
	x.rules.MaxLifetime = resolved
	st.ext = x
	ctx, cancel := v.c.store.bound(r.Context())
	vs, verr := v.c.store.versions(ctx, v.tagKeysFor(r), v.life(resolved))
	cancel()
	var before http.Header
	if pre := w.Header(); len(pre) > 0 || stale != nil {
		before = pre.Clone()
		header.Canonicalize(before) // as the recorder canonicalizes h
	}
	x.reqTime = v.c.clock()
	// Only the status and header are read: refused at commit, the
	// response passes through and nothing of a body (which a HEAD's
	// handler may write, and net/http drops) is recorded.
	rec := &httpcache.Recorder{Check: func(code int, h http.Header) httpcache.Reason {
		x.respTime = v.c.clock()
		return headerOnly(code, h)
	}, Date: func() []string {
		return httpDate(receivedAt(x.respTime, v.c.clock)) // as freshen dates the entry (see prepareRun)
	}}
	status, h, served := v.runHead(w, r, rec, st, before)
	// A 200 made after the request's context ended is the answer to a
	// cancelled request, which may be anything: not stored, as a GET's
	// (notModified, run).
	if served || verr != nil || status != http.StatusOK || r.Context().Err() != nil || !prev.snap.Validates(h, true) ||
		!writtenUnder(prev, vs) {
		return
	}
	// The response passed through the outer writers, which the recorder
	// refused at commit (reasonHeaderOnly) and so did not watch: the
	// judged fields they added as the status passed (a session
	// middleware's Set-Cookie, Vary: Cookie) are the response's, as for
	// a 200 (httpcache.Recorder's recheck) or a 304 (outerJudge). A
	// HEAD's handler writes no body, so a writer that holds the status
	// until the body starts (and adds its fields then) would commit only
	// after the view returned: a zero-length write commits it first.
	// Unlike the first writes of a miss (httpcache.Recorder.Finish) and of
	// a 304 (outerJudge), it is not bounded by httpcache.FirstWriteWait: a
	// HEAD has no waiters to release, and the view may not return while a
	// write below runs, so its client waits for a slow outer writer either
	// way; given up on, the write would only keep the HEAD from freshening
	// the entry.
	_, _ = w.Write(nil)
	targeted := x.rules.TargetedField
	added := httpcache.Added(httpcache.JudgedFields(h, targeted), httpcache.JudgedFields(w.Header(), targeted))
	judged := withAdded(h, prev.snap.JudgedHeader(), added)
	if varyWidens(prev, judged) {
		return
	}
	if !mayShare(x, judged) {
		return // this client's alone, as its 200 to a GET would be
	}
	if len(added) == 0 {
		judged = nil // h itself
	}
	snap, merged, reason := v.freshenJudged(x, prev.snap, h, judged, before, v.freshenedDeletions(prev.snap, h, before))
	if reason == httpcache.ReasonNone && v.refusedByStoreIf(snap, merged) {
		reason = reasonFiltered
	}
	if reason != httpcache.ReasonNone {
		if v.mayDrop(r, x, prev, h) {
			v.dropRefreshed(r, prev, reason)
		}
		return
	}
	v.store(r, st, viewResult{snap: snap, names: prev.spec.namesOrNil(), variant: prev.variant}, resolved, v.c.clock(), vs)
}

// gatewayTimeout answers a request with only-if-cached that nothing stored
// answers (RFC 9111 section 5.2.1.7).
func (v *view) gatewayTimeout(w http.ResponseWriter, r *http.Request) {
	v.announce(w, r, outMiss, httpcache.Miss)
	http.Error(w, "504 gateway timeout: only-if-cached and nothing stored", http.StatusGatewayTimeout)
}

// forward serves r through the handler, storing nothing (pass, headMiss),
// with the writer as it is: a request the view does not cache (BypassIf,
// the usual way out for a stream) keeps every interface of the writer,
// http.CloseNotifier too, which a wrapper would hide (an SSE handler that
// asserts it panicked), and costs no allocation. net/http dates such a
// response itself; only a handler that sets Date to nil on it, suppressing
// the field on purpose, sends it undated.
func (v *view) forward(w http.ResponseWriter, r *http.Request) {
	v.next.ServeHTTP(w, r)
}

// dateUndated gives h, the header of a response a SharedCache view
// forwards without recording it (write), the Date it was received, the
// Cache's clock's now, where the handler set a nil-valued one, with which
// net/http sends none (RFC 9110 section 6.6.1: a cache that forwards a
// response without Date adds one). Without the field net/http dates it
// itself, with no allocation here.
func (v *view) dateUndated(h http.Header) {
	if vs, ok := h["Date"]; ok && len(vs) == 0 {
		h["Date"] = httpDate(v.c.clock())
	}
}

// write serves a request with an unsafe method through the handler and
// invalidates what it wrote (InvalidateOnWrite): when its response is
// committed, and again when the handler returns, for a change made after
// the commit.
func (v *view) write(w http.ResponseWriter, r *http.Request) {
	v.announce(w, r, outBypass, httpcache.Bypass)
	iw := &invalidatingWriter{v: v, r: r}
	rw := iw.Reset(w, iw)
	defer func() {
		if p := recover(); p != nil {
			iw.returned()
			panic(p)
		}
	}()
	v.next.ServeHTTP(rw, r)
	iw.returned()
	if v.sh != nil && !iw.Committed() && !iw.Hijacked() {
		v.dateUndated(w.Header()) // net/http sends it as a 200 of this header
	}
}

// invalidatingWriter invalidates when the response to a write is committed
// with a status under 400, and again when the handler returns.
type invalidatingWriter struct {
	httpx.Writer
	v    *view
	r    *http.Request
	done bool
	// keys are the keys invalidated at the commit, to invalidate again
	// when the handler returns; nil when the status was 400 or more.
	keys []string
}

// returned invalidates once the handler has returned or panicked: the keys
// invalidated at the commit, again, or, when nothing was committed (net/http
// sends a 200; a panic's write may have happened), the request's path.
func (iw *invalidatingWriter) returned() {
	switch {
	case !iw.done:
		iw.done = true
		iw.v.invalidateKeys(iw.r, iw.v.writeKeys(iw.r, nil))
	case iw.keys != nil:
		iw.v.invalidateKeys(iw.r, iw.keys)
	}
}

var _ httpx.Hooks = (*invalidatingWriter)(nil)

// WriteHeader invalidates before the final status goes out, which a
// SharedCache view dates as forward does.
func (iw *invalidatingWriter) WriteHeader(code int) {
	if !iw.done && !httpx.Informational(code) {
		iw.done = true
		if iw.v.sh != nil {
			iw.v.dateUndated(iw.Header())
		}
		if code < 400 {
			iw.keys = iw.v.writeKeys(iw.r, iw.Header())
			iw.v.invalidateKeys(iw.r, iw.keys)
		}
	}
	iw.Writer.WriteHeader(code)
}

// writeKeys returns the keys that a write r invalidates: those of its path
// and of the same-origin paths of the Location and Content-Location in h
// (RFC 9111 section 4.4), on every host, or under Options.HostScopedWrites
// on r's. When a middleware rewrote r's path (http.StripPrefix), the path
// its client sent is invalidated too, and a relative Location is resolved
// against it, as the client resolves it.
func (v *view) writeKeys(r *http.Request, h http.Header) []string {
	paths := []string{r.URL.Path}
	base := r.URL
	if raw := requestPath(r); raw != "" {
		if sent, rewritten := rewrittenFrom(r, raw); rewritten {
			paths = append(paths, sent)
			base = &url.URL{Path: sent}
		}
	}
	for _, name := range [...]string{"Location", "Content-Location"} {
		if vs := h[name]; len(vs) > 0 {
			if p, ok := sameOriginPath(r, base, vs[0]); ok && !slices.Contains(paths, p) {
				paths = append(paths, p)
			}
		}
	}
	var keys []string
	if !v.c.hostWrites {
		keys = v.c.pathTagKeys(paths)
	} else {
		// r's host and every host's (IgnoreHost views'): the Location
		// paths are on r's host (sameOriginPath).
		host := originHost(r)
		for _, p := range paths {
			keys = append(keys, v.c.hostPathTagKey(host, p))
			if host != "" {
				keys = append(keys, v.c.hostPathTagKey("", p))
			}
		}
	}
	return keys
}

// invalidateKeys invalidates keys for the write r, failing open: a failure
// is logged, counted, and retried in the background.
func (v *view) invalidateKeys(r *http.Request, keys []string) {
	ctx, cancel := v.c.store.bound(context.WithoutCancel(r.Context()))
	defer cancel()
	const op = "view invalidate on write"
	if err := v.c.invalidateRetried(ctx, op, keys); err != nil {
		v.failOpen(r, op, err) // and retried in the background
	}
}

// sameOriginPath returns the path of ref, a URI reference resolved against
// base (r's URL as its client sent it) as RFC 3986 section 5.2 resolves it
// (dot segments removed, as the client's next request has them), when it
// names r's host (RFC 9111 section 4.4: a cache must not invalidate another
// origin's responses): a relative path, a scheme-relative reference to r's
// host ("//shop.example/items/9"), or an absolute one. The scheme may be
// http or https whatever r came over: behind a proxy that terminates TLS,
// the handler sees plain HTTP while its Location says https, and a path is
// invalidated on every scheme of the view anyway. The port must match,
// either scheme's default one left implicit (see hostPort). A reference
// without a path names none.
func sameOriginPath(r *http.Request, base *url.URL, ref string) (string, bool) {
	u, err := url.Parse(ref)
	if err != nil || u.Path == "" {
		return "", false
	}
	if u.Scheme != "" || u.Host != "" {
		refScheme := strings.ToLower(u.Scheme)
		if refScheme != "" && refScheme != "http" && refScheme != "https" || hostPort(u.Host) != hostPort(r.Host) {
			return "", false
		}
	}
	return base.ResolveReference(u).Path, true
}

// hostPort lower-cases a host and drops a default port, 80 or 443,
// whatever the scheme the request came over: behind a proxy that
// terminates TLS, an https client's "shop.example:443" reaches the handler
// over plain HTTP. (Telling http://shop.example:443 from
// http://shop.example apart would gain nothing: at worst a write makes
// the other's pages misses.) It also drops one trailing dot of the host
// name: "shop.example." is the same host, fully qualified, and a client
// may read through it what another writes through "shop.example". It
// names the host of write and version keys only, never an entry's key.
func hostPort(host string) string {
	host = strings.ToLower(host)
	if h, ok := strings.CutSuffix(host, ":80"); ok {
		host = h
	} else {
		host = strings.TrimSuffix(host, ":443")
	}
	name, port := host, ""
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		name, port = host[:i], host[i:] // not a colon inside an IPv6 literal
	}
	if trimmed, ok := strings.CutSuffix(name, "."); ok {
		return trimmed + port
	}
	return host
}

// restoreHeader makes h what it was before the handler ran (before, with
// canonical keys; nil: empty).
func restoreHeader(h, before http.Header) {
	for k := range h {
		if _, ok := before[k]; !ok {
			delete(h, k)
		}
	}
	for k, vs := range before {
		h[k] = vs
	}
}
