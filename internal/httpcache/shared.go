package httpcache

import (
	"net/http"
	"time"

	"github.com/go-caching/caching/internal/boottime"
	"github.com/go-caching/caching/internal/header"
)

// DefaultMaxHeuristic caps a heuristic freshness lifetime (RFC 9111 section
// 4.2.2) when Shared.MaxHeuristic is 0: one day.
const DefaultMaxHeuristic = 24 * time.Hour

// ReasonNoFreshness is the reason Shared gives besides Policy's: neither
// explicit freshness nor heuristically cacheable.
const ReasonNoFreshness Reason = "no-freshness"

// Shared holds the rules of an RFC 9111 shared cache: which responses may
// be stored (section 3), for how long they are fresh (section 4.2), what
// their age is (section 4.2.3), and when a stale one may be served (section
// 4.2.4, RFC 5861). The directives it reads are those of the targeted field
// when the response has a valid one (RFC 9213), else Cache-Control. Its zero
// value follows Cache-Control only, with the default heuristic cap, no cap
// on lifetimes and no stale serving. A Shared is read-only once in use and
// then safe for concurrent use.
type Shared struct {
	// TargetedField is the canonical name of the targeted cache-control
	// field this cache follows (DefaultTargetedField, CDN-Cache-Control);
	// "" follows none.
	TargetedField string
	// MaxHeuristic caps heuristic lifetimes; 0 means DefaultMaxHeuristic.
	MaxHeuristic time.Duration
	// MaxLifetime caps every freshness lifetime; 0 means no cap.
	MaxLifetime time.Duration
	// MaxStaleWhileRevalidate and MaxStaleIfError bound the response's
	// stale-while-revalidate and stale-if-error windows; 0 turns them off.
	MaxStaleWhileRevalidate, MaxStaleIfError time.Duration
	// AllowAuthorization stores responses to requests with Authorization
	// whatever their directives: set it only when keys separate users.
	AllowAuthorization bool
}

// Reuse is what a stored response's directives allow past its freshness.
type Reuse struct {
	// StaleWhileRevalidate and StaleIfError are the windows past freshness
	// in which the response may be served stale (RFC 5861), bounded by the
	// Shared's maxima; 0 when NoStale.
	StaleWhileRevalidate, StaleIfError time.Duration
	// NoStale: must-revalidate, proxy-revalidate, s-maxage or no-cache
	// forbid serving the response stale (RFC 9111 section 4.2.4).
	NoStale bool
	// NoCache: the response must be revalidated before every reuse.
	NoCache bool
	// Shareable: the response may answer a request with Authorization
	// (public, s-maxage or must-revalidate; RFC 9111 section 3.5).
	Shareable bool
}

// Freshness is what a shared cache knows of a response it may store.
type Freshness struct {
	Reuse
	// Lifetime is the freshness lifetime: s-maxage, else max-age, else
	// Expires minus Date, else the heuristic; capped by MaxLifetime, and 0
	// for no-cache. A response is fresh while its age is under it.
	Lifetime time.Duration
	// Age is the corrected initial age (RFC 9111 section 4.2.3): the
	// response's age when it was received.
	Age time.Duration
	// Heuristic reports a lifetime guessed from Last-Modified.
	Heuristic bool
}

// Reusable reports whether the response, as it arrived, may answer
// another request than the one it answered without being revalidated
// first: it is fresh (its lifetime is longer than its age, RFC 9111
// section 4.2) and has no no-cache (section 5.2.2.4). A response stored
// with a lifetime of 0 (no-cache, max-age=0, s-maxage=0) or stale on
// arrival (an Age past its max-age) is not. must-revalidate and
// proxy-revalidate only forbid serving the response once stale (section
// 5.2.2.2): a fresh one is reusable.
func (f Freshness) Reusable() bool {
	return !f.NoCache && f.Lifetime > f.Age
}

// Directives returns the cache directives of a response for this cache: the
// targeted field's when it is present and valid (targeted true: Cache-Control
// and Expires are then ignored, RFC 9213 section 2.2), else Cache-Control's.
// Either way, no-store, private and no-cache found anywhere in the field
// read, or in an invalid targeted field, count (see CacheControl.addStrays):
// a malformed field can only make the cache store less.
func (p *Shared) Directives(h http.Header) (cc CacheControl, targeted bool) {
	var invalid []string // an invalid targeted field
	if p.TargetedField != "" {
		if lines := h[p.TargetedField]; len(lines) > 0 {
			if cc, ok := ParseTargeted(lines); ok {
				cc.addStrays(lines, true)
				return cc, true
			}
			invalid = lines
		}
	}
	cc = ParseCacheControl(h["Cache-Control"])
	cc.addStrays(h["Cache-Control"], false)
	cc.addStrays(invalid, false)
	return cc, false
}

// Reuse returns what a stored header allows past freshness.
func (p *Shared) Reuse(h http.Header) Reuse {
	cc, _ := p.Directives(h)
	return p.reuse(cc)
}

func (p *Shared) reuse(cc CacheControl) Reuse {
	u := Reuse{
		NoStale:   cc.MustRevalidate || cc.ProxyRevalidate || cc.SMaxAge.Valid || cc.NoCache,
		NoCache:   cc.NoCache,
		Shareable: cc.Public || cc.SMaxAge.Valid || cc.MustRevalidate,
	}
	if !u.NoStale {
		u.StaleWhileRevalidate = min(cc.StaleWhileRevalidate.Duration(), p.MaxStaleWhileRevalidate)
		u.StaleIfError = min(cc.StaleIfError.Duration(), p.MaxStaleIfError)
	}
	return u
}

// StaleIfError returns the window past freshness in which a stored
// response whose directives allow u may answer an error (a 5xx, a panic)
// for a request with directives rq (RFC 5861 section 4): the response's
// stale-if-error (u.StaleIfError, already bounded), or the request's own
// stale-if-error when longer, bounded by MaxStaleIfError as the
// response's is. It is 0 when u.NoStale: a client cannot lift the
// response's must-revalidate, proxy-revalidate, s-maxage or no-cache (RFC
// 9111 section 4.2.4). The request's window only widens what the entry,
// kept for the life its own response gives it, may do for that request.
func (p *Shared) StaleIfError(u Reuse, rq CacheControl) time.Duration {
	if u.NoStale || !rq.StaleIfError.Valid {
		return u.StaleIfError
	}
	return max(u.StaleIfError, min(rq.StaleIfError.Duration(), p.MaxStaleIfError))
}

// Response reports whether a response to r with this status and header may
// be stored by a shared cache (RFC 9111 section 3), and its freshness. r is
// the request as the client sent it; requestTime is when the request was
// sent on (the handler called), responseTime when the response was received
// (its header committed). A refused response gets the first reason that
// applies, in this order: the status (206, 226, 304, or one must-understand
// does not cover), Set-Cookie (never stored, this library's rule), no-store,
// private, Authorization (section 3.5), Vary: *, and no freshness: neither
// s-maxage, max-age, Expires nor no-cache (stored with a lifetime of 0:
// revalidated before every reuse), nor heuristically cacheable (a status
// cacheable by default, RFC 9110 section 15.1, with Last-Modified; or
// public, on such a status or one below 400: see heuristicAllowed), and,
// last, an error status this cache never shares (see unsharedError): a
// 4xx but 404, 405, 410 and 414, and every 5xx, 501 included. Any other
// final status with explicit freshness may be stored. UnsharedStatus
// reports the statuses refused whatever the header says.
//
// A 226 IM Used (RFC 3229) is never stored: it is a delta from the
// instance the client named (A-IM with If-None-Match), right only for a
// request with that same base, which a key does not hold (not even when
// Vary names A-IM).
func (p *Shared) Response(r *http.Request, status int, h http.Header, requestTime, responseTime time.Time) (Freshness, Reason) {
	switch {
	case status == http.StatusPartialContent:
		return Freshness{}, ReasonPartial
	case status < 200 || status == http.StatusNotModified || status == http.StatusIMUsed:
		return Freshness{}, ReasonStatus
	case len(h["Set-Cookie"]) > 0:
		return Freshness{}, ReasonSetCookie
	}
	cc, targeted := p.Directives(h)
	switch {
	case cc.MustUnderstand && !understood(status):
		return Freshness{}, ReasonStatus
	case cc.NoStore && !cc.MustUnderstand:
		return Freshness{}, ReasonNoStore
	case cc.Private:
		return Freshness{}, ReasonPrivate
	case !p.AllowAuthorization && len(r.Header["Authorization"]) > 0 && !cc.Public && !cc.SMaxAge.Valid && !cc.MustRevalidate:
		return Freshness{}, ReasonAuthorization
	}
	if _, star := ParseVary(h); star {
		return Freshness{}, ReasonVaryStar
	}
	date := responseTime
	if d, ok := firstDate(h["Date"]); ok {
		date = d
	}
	f := Freshness{Reuse: p.reuse(cc)}
	switch {
	case cc.SMaxAge.Valid:
		f.Lifetime = cc.SMaxAge.Duration()
	case cc.MaxAge.Valid:
		f.Lifetime = cc.MaxAge.Duration()
	case cc.NoCache:
		// Stored, and revalidated before every reuse: lifetime 0 (below).
	case !targeted && len(h["Expires"]) > 0:
		// An invalid Expires ("0") means already expired (section 5.3), and
		// so do lines that disagree: Expires is a singleton field (RFC 9110
		// section 5.5), and a cache that read the later one would serve
		// longer than the origin, or whatever added the other line, meant.
		if exp, ok := firstDate(h["Expires"]); ok && allSame(h["Expires"]) && exp.After(date) {
			f.Lifetime = exp.Sub(date)
		}
	default:
		lm, hasLM := firstDate(h["Last-Modified"])
		if !heuristicAllowed(status, cc.Public, hasLM) {
			return Freshness{}, ReasonNoFreshness
		}
		f.Heuristic = true
		if hasLM && date.After(lm) {
			limit := p.MaxHeuristic
			if limit <= 0 {
				limit = DefaultMaxHeuristic
			}
			f.Lifetime = min(date.Sub(lm)/10, limit)
		}
	}
	if p.MaxLifetime > 0 {
		f.Lifetime = min(f.Lifetime, p.MaxLifetime)
	}
	if unsharedError(status) {
		// Last, so that the reasons above (no-store, no freshness...) are
		// given as before: only what would have been stored is refused so.
		return Freshness{}, ReasonStatus
	}
	if cc.NoCache {
		f.Lifetime = 0
	}
	f.Age = InitialAge(h, date, requestTime, responseTime)
	return f, ReasonNone
}

// InitialAge is the corrected initial age of a response (RFC 9111 section
// 4.2.3) whose Date reads date (responseTime when it has none):
// the larger of its apparent age (responseTime - date, at least 0) and its
// Age header plus the response delay (responseTime - requestTime).
func InitialAge(h http.Header, date, requestTime, responseTime time.Time) time.Duration {
	apparent := max(0, responseTime.Sub(date))
	age, _ := header.ParseAge(h["Age"])
	corrected := time.Duration(age)*time.Second + max(0, boottime.Elapsed(requestTime, responseTime))
	return max(apparent, corrected)
}

// firstDate parses the first line of a date field.
func firstDate(lines []string) (time.Time, bool) {
	if len(lines) == 0 {
		return time.Time{}, false
	}
	return header.ParseHTTPDate(lines[0])
}

// allSame reports whether every line of lines is the first's.
func allSame(lines []string) bool {
	for _, l := range lines[1:] {
		if l != lines[0] {
			return false
		}
	}
	return true
}

// heuristicAllowed reports whether a response with no explicit freshness
// may be given a heuristic one (RFC 9111 section 4.2.2): a status cacheable
// by default, with Last-Modified or public; or, with public, any other
// status below 400. public makes every status heuristically cacheable in
// the RFC's words, but an error (a 500, 502, 503, 504, a 429, a 403) is
// most often a passing state of the origin, not a page: guessing it a
// lifetime serves one failure to everyone for a tenth of its
// Last-Modified age, where the origin may answer the next request. As
// Varnish, which stores only the statuses cacheable by default without an
// explicit lifetime, this cache stores an error outside them only with
// explicit freshness (max-age, s-maxage, Expires, no-cache).
func heuristicAllowed(status int, public, hasLM bool) bool {
	if heuristicStatus(status) {
		return public || hasLM
	}
	return public && status < 400
}

// heuristicStatus reports a status cacheable by default (RFC 9110 section
// 15.1); 206 is one, but this cache never stores it.
func heuristicStatus(status int) bool {
	switch status {
	case 200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501:
		return true
	}
	return false
}

// UnsharedStatus reports a status that Response refuses whatever the
// header says: 1xx, 206, 226, 304, and the errors unsharedError names (a
// 4xx but 404, 405, 410 and 414; every 5xx). An entry stored with one (by
// a version that stored 5xx, or 501) must not be served either: a reader
// treats it as absent. It is a few comparisons, for the hit path.
func UnsharedStatus(status int) bool {
	return status < 200 || status == http.StatusPartialContent || status == http.StatusNotModified ||
		status == http.StatusIMUsed || unsharedError(status)
}

// unsharedError reports an error status a shared cache never stores,
// whatever freshness it declares: a 4xx that RFC 9110 section 15.1 does
// not make cacheable by default (all but 404, 405, 410 and 414), and every
// 5xx, 501 included. Such a 4xx answers the request rather than its URL:
// a 400 for a header past the origin's buffer or with a byte it refuses, a
// WAF's 403, a 406 for an Accept, a 429 from a per-client rate limit, a
// 431. Such a 5xx is the
// origin failing on one request: a 500 for a header its code cannot parse,
// a 502 or 504 for a query that took its backend down or past a timeout,
// a 503 from an overload guard. Both are made of fields no key holds, and
// any client can provoke them: behind a site-wide Cache-Control (nginx's
// add_header ... always), one request's error would answer every client of
// the URL for its max-age (a cache-poisoned denial of service, CPDoS), as
// Varnish's builtin rules, which store no 5xx, do not allow. A 501 is
// cacheable by default, but no less the answer to one request: Go's server
// sends it for a Transfer-Encoding it does not support, others for a
// method or an Expect they do not know, all of the client's choosing; and
// Varnish does not store it either. A stale entry still answers a 5xx
// within its stale-if-error window, and the revalidation rules read these
// statuses so too (they never drop an entry: see the root package's
// mayDrop).
func unsharedError(status int) bool {
	return status >= 500 || status >= 400 && !heuristicStatus(status)
}

// understood reports a status whose caching rules this cache implements,
// for must-understand (RFC 9111 section 5.2.2.3).
func understood(status int) bool {
	return status != http.StatusPartialContent && heuristicStatus(status) ||
		status == http.StatusFound || status == http.StatusTemporaryRedirect
}
