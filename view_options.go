package caching

import (
	"context"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/header"
)

// viewConfig is the configuration of one cached view.
type viewConfig struct {
	commonConfig
	sharedConfig // SharedCache and the options of view_shared.go

	keyFormat     string                     // DefaultKeyFormat unless KeyFormat
	keyFormatSet  bool                       // KeyFormat was given
	userFunc      func(*http.Request) string // whose response this is
	pathOnly      bool                       // leave the query string out of the key
	queryOpts     bool                       // QueryString was given
	query         QueryKeyOptions            // which query parameters count
	ignoreHost    bool                       // leave scheme and host out of the key
	statuses      []int                      // allow-list; nil: 200
	respectMaxAge bool
	maxBody       int // 0: 1 MiB
	maxVariants   int // 0: DefaultMaxVariants
	statusHeader  string
	inertCookies  []string                 // InertCookies: names, or prefixes ending in *
	routeTTL      map[string]time.Duration // CachedMux: TTL by pattern
	skipRoutes    map[string]bool          // CachedMux: patterns not cached

	name string // Name: the view's name in ViewStats
}

// viewOption is a ViewOption made from a function.
type viewOption func(*viewConfig)

func (o viewOption) applyView(c *viewConfig) { o(c) }

// DefaultKeyFormat is the key format of a view without KeyFormat: "view/"
// and the request's path, as Flask-Caching's default key_prefix.
const DefaultKeyFormat = "view/%s"

// DefaultCollapseTimeout is how long a view's miss waits for the run of
// its key that another request started without CollapseTimeout.
const DefaultCollapseTimeout = 5 * time.Second

// DefaultMaxVariants is how many Vary variants of one response a view
// stores without MaxVariants.
const DefaultMaxVariants = 32

// KeyFormat sets the part of a view's keys built from the path: format,
// with %s replaced by the request's escaped path (Flask-Caching's
// key_prefix; default DefaultKeyFormat). A format without %s gives every
// path the same key: the host, query string, Vary variant, UserKey and
// Version still tell entries apart. The format must have at most one %s and
// no other verb.
func KeyFormat(format string) ViewOption {
	return viewOption(func(c *viewConfig) { c.keyFormat, c.keyFormatSet = format, true })
}

// UserKey tells whose response a request gets: f's result becomes part of
// the key, so every user has entries of their own, and requests with
// credentials (an Authorization header, a TLS client certificate), which
// are otherwise never cached, are cached under it. A request for which f
// returns "" shares the anonymous entries, unless it has credentials: then
// it is not cached at all.
//
// A hit is served before the handler runs, and so before any check the
// handler (or a middleware inside the view) makes: f must return the
// identity of a request already authenticated by a middleware outside the
// view, or verify the credentials itself (a token's signature, expiry and
// revocation, a session in its store). A user id merely decoded from an
// unverified token would give a forged token its user's stored responses,
// and a revoked one its own until they expire. Return a stable user id, not
// the credential: keys are stored in the backend in clear (and returned
// by ViewKey). f is called on every request of the view, hits
// included, and must be safe for concurrent use.
func UserKey(f func(*http.Request) string) ViewOption {
	return viewOption(func(c *viewConfig) { c.userFunc = f })
}

// PathOnly leaves the query string out of a view's key: /a?x=1 and /a?x=2
// share one entry (Flask-Caching's query_string=False, which is not our
// default: by default the canonical query string is part of the key). The
// handler does not get the query string either (r.URL.RawQuery and
// r.RequestURI have none, r.Form none of it when an outer middleware
// parsed it; the caller's request is not changed): a page that echoed
// ?x=... would otherwise be stored with one client's value and served for
// every query. QueryString with Allow keys the parameters a handler reads.
// Requests the view passes through without the cache (BYPASS) get the
// query. It cannot be given with QueryString or KeyFunc.
func PathOnly() ViewOption {
	return viewOption(func(c *viewConfig) { c.pathOnly = true })
}

// QueryString chooses which query parameters are part of a view's key (all
// by default, in canonical order: ?b=2&a=1 and ?a=1&b=2 share an entry, and
// so does ?a=1&&b=2, whose empty parameter is dropped; ?a=1&a=2 and ?a=1 do
// not). See CanonicalQuery, which also tells why a handler that folds two
// names into one (PHP's a.b and a_b, ASP.NET's names without case) should
// list the names it reads in Allow: sorted by name, the two orders of such
// a pair share an entry. The parameters it leaves
// out of the key are left out of the request the handler answers too
// (r.URL.RawQuery, r.RequestURI, and r.Form when an outer middleware
// parsed it; the caller's request is not changed): a page that echoed
// ?utm_source=... would otherwise be stored with one client's value and
// served to every client of the key. Read such parameters in a middleware
// outside the view. Requests the view passes through without the cache
// (BYPASS: a POST, a BypassIf) get them. It cannot be given with PathOnly
// or KeyFunc.
func QueryString(opts QueryKeyOptions) ViewOption {
	return viewOption(func(c *viewConfig) { c.queryOpts, c.query = true, opts })
}

// IgnoreHost leaves the scheme and the host out of a view's key, so that
// every name a service answers to shares one entry per path. By default the
// key starts with them, the Host as the request sent it, so that
// a.example/page and b.example/page never share a response, nor do two
// spellings of one host a handler or http.ServeMux may answer apart
// (ServeMux matches hosts case-sensitively). Use it only for a service
// that serves one site under several names. In CachedMux, a request whose
// route names a host ("a.example/page") passes through uncached: the mux
// tells the hosts apart, the key would not.
func IgnoreHost() ViewOption {
	return viewOption(func(c *viewConfig) { c.ignoreHost = true })
}

// StoreStatuses sets the HTTP statuses a view may store (default: 200 only;
// for example 200, 203, 301, 404, 410). Each must be in 200-599, and none
// may be 206 Partial Content or 304 Not Modified: a part of a response, or
// none, which would answer the requests for the whole URL (a Range request
// is answered from a stored 200 in a SharedCache view). These are never
// stored, listed or not, and an entry an earlier version stored with one
// is a miss: 226 IM Used, 406 Not Acceptable, 408 Request Timeout, 412
// Precondition Failed, 416 Range Not Satisfiable, 417 Expectation Failed,
// 421 Misdirected Request, 425 Too Early, 429 Too Many Requests and 431
// Request Header Fields Too Large. Each answers fields of the request, or
// of its connection, that no key holds (A-IM, Accept and its kin,
// If-Match or If-Unmodified-Since, Range, Expect, early data, the client's
// rate, the header's size): stored, one client's request would make the
// URL that error for every client until it expired. A SharedCache view
// stores none of them either (nor any 4xx but 404, 405, 410 and 414).
func StoreStatuses(codes ...int) ViewOption {
	return viewOption(func(c *viewConfig) { c.statuses = append([]int(nil), codes...) })
}

// RespectMaxAge caps a view's TTL with the response's Cache-Control
// s-maxage, or max-age when there is no s-maxage; a cap of 0 means the
// response is not stored. By default the TTL given to Cached applies,
// whatever the response says (no-store and private always prevent storing).
func RespectMaxAge() ViewOption {
	return viewOption(func(c *viewConfig) { c.respectMaxAge = true })
}

// MaxBodySize sets the largest body a view stores, in bytes (default 1 MiB).
// A larger response passes through uncached and is never buffered past the
// cap. It must not be negative.
func MaxBodySize(n int) ViewOption {
	return viewOption(func(c *viewConfig) { c.maxBody = n })
}

// MaxVariants bounds the Vary variants a view stores for one key (one
// path and query): once n variants are stored, a request for another one is
// served uncached until they expire. It keeps requests that send a new
// value of a header the response varies on (User-Agent, Accept-Language)
// from filling the cache. Default DefaultMaxVariants (32); it must be in
// 0-4096. The bound is exact in one process and can be passed by a few
// when several processes store new variants of one key at once.
//
// A client can still fill a key's n slots with values of its own: the
// variants stored before it stay served, and a new one is served
// uncached until a slot is free. So that this ends by itself, a variant
// is fresh for a day at most, also under Forever or a longer max-age in
// a SharedCache view, and is then made again (its stale windows, a day at
// most, still answer past it: StaleIfError).
//
// A request whose fields the Vary names (their lines, with those of their
// '_' spellings, and r.Host for Host) total more than 16 KiB is no variant:
// it is passed through uncached and its response is not stored (reason
// "vary-large"). The variant key holds every byte of those fields, which
// net/http accepts up to 1 MiB; no browser sends 16 KiB of them.
func MaxVariants(n int) ViewOption {
	return viewOption(func(c *viewConfig) { c.maxVariants = n })
}

// CollapseTimeout bounds how long a request a view misses waits for the
// response of another request of its key whose handler is running (the
// concurrent misses of a key run the handler once; the others wait for it,
// nginx's proxy_cache_lock). Past d, it stops waiting and runs the handler
// itself, as a miss does: a run made slow by something its key does not
// hold (a header, a slow upload, an origin slow for that one request)
// delays the other requests of the key by d at most. Its response is a
// miss (MISS in CacheStatusHeader, Stats.Misses), and the wait it gave up
// counts in Stats.CollapseTimeouts. The first request that gives up on a
// run whose handler has run for d or longer takes that run over (nginx's
// proxy_cache_lock_age; it counts in Stats.CollapseTakeovers too): its
// response is stored, and answers the requests waiting for the key, which wait for it instead (each within its own d,
// from its first wait), and those that come since; the run it took over
// goes on for its own client and writes nothing to the store (neither its
// response, nor the delete of the entry it would have replaced, nor, in a
// SharedCache view, a freshened entry), so that a request that takes
// minutes, or never ends, keeps its key uncached for d, not for as long as
// it runs. A lease it holds is handed on, as for a leader whose client
// left. A request that gives up on a younger run (one that took another
// over after it began to wait: a run is taken over once per d at most), or
// on a leader that still waits for another process's lease (the lease
// promises that process's run), runs the handler on its own, and does not
// store the response, nor delete the stored one for it, nor mark its key
// for SharedCache's hit-for-pass. d is measured on the real clock:
// Options.Clock tells the time, and makes no timers.
// Its client leaving, or its context's deadline, ends the wait earlier,
// as before. The bound holds from the request's first wait, however
// often it waits again (a leader whose client left, a response of
// another variant). Default (d 0): DefaultCollapseTimeout (5 s, nginx's
// proxy_cache_lock_timeout), plus the view's Lease under one: the request
// leading a process's misses may wait the lease's time for another
// process's run, then run the handler itself (that process gone), and
// the requests waiting for it wait for that run too, as the other
// processes' do, so that the lease's one run per key (per process, once
// its holder is given up on) holds; a negative d waits as long as the
// other run takes. It bounds the wait in this process only: under Lease,
// the request leading the process's misses waits for another process's
// run as Lease says, while the requests waiting for it give up after d; a
// d no longer than the lease gives up the lease's one run per key for
// requests that wait longer.
//
// For a memoized function (Memoize), d bounds how long a call waits for a
// computation of its argument it joined (another call's, a Refresh's, a
// background refresh's), from that computation's start: past d, the first
// call to give up computes in its place, and the calls waiting, and those
// that come since, join it (Stats.CollapseTimeouts and
// CollapseTakeovers); the computation it took over goes on for its own
// caller and stores nothing over the new result. Under a Lease longer than
// d, the call that gives up still waits for the lease the stuck computation
// holds, as another process's call does, and computes once it ends (at most
// the lease's time from its Add), so that the lease's one computation per
// key across processes holds: under Lease(10s) and CollapseTimeout(2s), a
// stuck computation's callers wait about 10 s. Default (d 0):
// DefaultCollapseTimeout plus the function's Lease. A negative d waits as
// long as the computation takes: for a function whose usual run is slower
// than the default, which would otherwise run again for its waiting
// callers every DefaultCollapseTimeout, though a hung computation then
// holds them until their contexts end.
func CollapseTimeout(d time.Duration) Option {
	return commonOption(func(c *commonConfig) { c.collapse, c.collapseSet = d, d != 0 })
}

// CacheStatusHeader makes a view tell what the cache did in a response
// header of this name (commonly "X-Cache"; Flask-Caching's
// response_hit_indication): HIT (a stored response, or the response of
// an identical request it waited for), STALE, MISS (the handler ran) or
// BYPASS (the cache was not consulted, or the response is not stored). Off
// by default.
func CacheStatusHeader(name string) ViewOption {
	return viewOption(func(c *viewConfig) { c.statusHeader = name })
}

// InertCookies names cookies that neither identify a user nor change a
// view's response: analytics cookies such as "_ga" and "_gid", and a
// consent cookie when the page does not depend on it (a banner rendered in
// the browser; a page that leaves out its consent banner or its analytics
// tags for it does depend on it). A name ending in * names every cookie
// whose name begins with what precedes it ("_ga_*" names "_ga_ABC123").
// Keep prefixes narrow: "_ga*" or "_g*" also names a framework's session
// cookie named after the application (Rails' "_gallery_session"), and a
// signed-in request would then refresh as an anonymous one. Names are
// matched exactly, case included, as cookie names are; each must be a
// cookie name (an HTTP token), or one followed by *: an empty name or a
// bare * is an error.
//
// By default a request with a Cookie the stored response does not vary on,
// in a view without UserKey or KeyFunc, starts no background refresh
// (StaleWhileRevalidate, RefreshAhead): the cookie may sign its client in,
// and the refresh would store what that client's own miss would not (see
// the README's background refreshes). Most browsers send such cookies, so
// without this option the refreshes serve only clients without any. A
// request whose every cookie is named here, read as Request.Cookies reads
// its Cookie lines, refreshes as a request without cookies does, and its
// refresh runs the handler without the Cookie field; the client's own
// request keeps it. A request with any other cookie, or a part of a Cookie
// line that Request.Cookies drops as malformed, is refreshed as before. A
// view without this option (the default) reads no Cookie line for it.
func InertCookies(names ...string) ViewOption {
	return viewOption(func(c *viewConfig) { c.inertCookies = append(c.inertCookies, names...) })
}

// RouteTTL gives the routes of a mux wrapped by Cache.CachedMux whose
// pattern is exactly pattern (as registered, e.g. "GET /products/{id}") a TTL
// of their own (0: the Cache's DefaultTTL; Forever). Cache.Cached rejects
// it.
func RouteTTL(pattern string, ttl time.Duration) ViewOption {
	return viewOption(func(c *viewConfig) {
		if c.routeTTL == nil {
			c.routeTTL = make(map[string]time.Duration)
		}
		c.routeTTL[pattern] = ttl
	})
}

// SkipRoutes leaves the routes of a mux wrapped by Cache.CachedMux whose
// pattern is one of patterns uncached. Cache.Cached rejects it.
func SkipRoutes(patterns ...string) ViewOption {
	return viewOption(func(c *viewConfig) {
		if c.skipRoutes == nil {
			c.skipRoutes = make(map[string]bool)
		}
		for _, p := range patterns {
			c.skipRoutes[p] = true
		}
	})
}

// Name names a view in Cache.ViewStats (and so in metrics): views with one
// name share their counts. By default a view is named by the pattern of the
// route that served the request (CachedMux's route, or r.Pattern when the
// view is registered in a http.ServeMux), or "" when there is none (another
// router): name such views.
func Name(name string) ViewOption {
	return viewOption(func(c *viewConfig) { c.name = name })
}

// viewFuncs are a view's generic options, checked against its types.
type viewFuncs struct {
	bypassIf  func(context.Context, *http.Request) bool
	refreshIf func(context.Context, *http.Request) bool
	keyFunc   func(*http.Request) string
	storeIf   func(*Response) bool
	staleIf   func(*Response) bool
}

// newViewConfig applies opts and validates the result, for Cached when mux
// is false and for CachedMux when it is true. Errors wrap ErrInvalidOption
// and name the options and the valid range.
func newViewConfig(opts []ViewOption, mux bool) (viewConfig, viewFuncs, error) {
	cfg := viewConfig{keyFormat: DefaultKeyFormat}
	for _, o := range opts {
		if o != nil {
			o.applyView(&cfg)
		}
	}
	var f viewFuncs
	fail := func(format string, args ...any) (viewConfig, viewFuncs, error) {
		return cfg, f, fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
	}
	var err error
	if f.bypassIf, err = checkFunc[func(context.Context, *http.Request) bool]("view", "BypassIf", cfg.bypass); err != nil {
		return cfg, f, err
	}
	if f.refreshIf, err = checkFunc[func(context.Context, *http.Request) bool]("view", "RefreshIf", cfg.refresh); err != nil {
		return cfg, f, err
	}
	if f.keyFunc, err = checkFunc[func(*http.Request) string]("view", "KeyFunc", cfg.keyFunc); err != nil {
		return cfg, f, err
	}
	if f.storeIf, err = checkFunc[func(*Response) bool]("view", "StoreIf", cfg.storeIf); err != nil {
		return cfg, f, err
	}
	if f.staleIf, err = checkFunc[func(*Response) bool]("view", "StaleIf", cfg.staleIf); err != nil {
		return cfg, f, err
	}
	switch {
	case cfg.pathOnly && cfg.queryOpts:
		return fail("PathOnly and QueryString both given; choose one")
	case f.keyFunc != nil && cfg.keyFormatSet:
		return fail("KeyFunc and KeyFormat both given: KeyFunc replaces the format")
	case f.keyFunc != nil && (cfg.pathOnly || cfg.queryOpts):
		return fail("KeyFunc replaces the path and the query string; it cannot be given with PathOnly or QueryString")
	case !mux && (cfg.routeTTL != nil || cfg.skipRoutes != nil):
		return fail("RouteTTL and SkipRoutes apply to CachedMux, not Cached")
	}
	if n := strings.Count(cfg.keyFormat, "%"); n > 1 || n == 1 && !strings.Contains(cfg.keyFormat, "%s") {
		return fail("KeyFormat %q: want at most one %%s and no other verb", cfg.keyFormat)
	}
	for _, s := range cfg.statuses {
		if s < 200 || s > 599 {
			return fail("StoreStatuses: %d is not in 200-599", s)
		}
		if s == http.StatusPartialContent || s == http.StatusNotModified {
			// A part of the response, or none: stored under the URL's
			// key, it would answer the requests for the whole.
			return fail("StoreStatuses: %d is never stored: it is not the response to the URL", s)
		}
	}
	if cfg.maxBody < 0 {
		return fail("MaxBodySize is %d; want a positive size (0: 1 MiB)", cfg.maxBody)
	}
	if cfg.maxVariants < 0 || cfg.maxVariants > maxSpecVariants {
		// A Vary record lists at most maxSpecVariants: one with more is
		// read back as corrupt and dropped, and the bound with it.
		return fail("MaxVariants is %d; want 1-%d (0: %d)", cfg.maxVariants, maxSpecVariants, DefaultMaxVariants)
	}
	if cfg.maxVariants == 0 {
		cfg.maxVariants = DefaultMaxVariants
	}
	if cfg.collapse == 0 {
		cfg.collapse = DefaultCollapseTimeout
	}
	if cfg.statusHeader != "" {
		if !header.IsToken(cfg.statusHeader) {
			return fail("CacheStatusHeader %q is not a header name", cfg.statusHeader)
		}
		cfg.statusHeader = textproto.CanonicalMIMEHeaderKey(cfg.statusHeader)
	}
	for _, name := range cfg.inertCookies {
		if !header.IsToken(strings.TrimSuffix(name, "*")) {
			return fail("InertCookies: %q is not a cookie name, nor one followed by *", name)
		}
	}
	for p, ttl := range cfg.routeTTL {
		if ttl < 0 {
			return fail("RouteTTL(%q) is %v; want 0 (default), positive, or Forever", p, ttl)
		}
	}
	if cfg.swr < 0 || cfg.sie < 0 || cfg.ahead < 0 {
		return fail("StaleWhileRevalidate, StaleIfError and RefreshAhead must not be negative")
	}
	if err := cfg.sharedConfig.check(&cfg); err != nil {
		return cfg, f, err
	}
	if err := checkLease("view", cfg.commonConfig); err != nil {
		return cfg, f, err
	}
	return cfg, f, nil
}
