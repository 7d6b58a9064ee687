package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-caching/caching/backend/simple"
	"github.com/go-caching/caching/internal/conditional"
	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/timing"
)

// Cached returns middleware that caches the responses of the handler it
// wraps for ttl (0: the Cache's DefaultTTL; Forever: until invalidated or
// evicted, and, when the key is built from the path, for at most 28 days,
// the life of the path's version key: see InvalidatePath; a Vary variant
// for a day: see MaxVariants), as
// Flask-Caching's @cached does, but only where it is safe:
//
//   - Only GET responses are stored; a HEAD is answered from the GET entry
//     (headers, no body), so a router below the view that routes HEAD to a
//     handler of its own (chi's r.Head, gorilla/mux's Methods("HEAD")) has its
//     HEAD answered by the GET handler's entry: wrap the routes rather than
//     the router, or use CachedMux, which sees the routes. Other methods pass
//     through untouched, and so does a GET or HEAD with a body (a
//     Content-Length or Transfer-Encoding: a search API's query, as
//     Elasticsearch's GET _search), which no key holds, and so does one whose
//     Connection header names anything but close, keep-alive and TE: an
//     upgrade (a WebSocket is never answered from an entry; h2c, which curl
//     --http2 asks for, is not one: a server that speaks it switches before
//     any handler), or a header field, which a proxy below the cache removes
//     before the origin sees the request, so that its response would be stored
//     for a request the origin never saw.
//   - Only statuses in the allow-list (StoreStatuses; default 200), never a
//     206 (a part of the response), nor a 226, 406, 408, 412, 416, 417,
//     421, 425, 429 or 431, listed or not (the answer to fields of the
//     request, or of its connection, which no key holds: an A-IM, an
//     Accept, a precondition, a Range, an Expect, early data, a client over
//     its rate limit, a header too large; an entry an earlier version
//     stored with one is a miss), never a response with Set-Cookie or
//     Cache-Control no-store, private or no-cache (a word of the value,
//     wherever it stands: "no-store; private" too), never Vary: * nor a Vary
//     naming Forwarded, X-Forwarded-For or X-Real-IP (a proxy below the
//     cache, as httputil.ReverseProxy, sets them from the client's address,
//     which the key cannot see: the response is one client's), never a
//     body over MaxBodySize (default 1 MiB: such a response passes through,
//     never buffered past the cap), never a body shorter or longer than the
//     Content-Length the handler declared (its client gets what net/http
//     alone sends it: an io.Copy past the length, the declared length as a
//     complete response; a Write past it, an error), never a response
//     produced after the request's context was done (the client left: the
//     handler may have answered with a fallback). The response judged is
//     the one the client gets: a field among Set-Cookie, Cache-Control,
//     Vary, Expires and Pragma (and, in a SharedCache view, its targeted
//     field, CDN-Cache-Control) that a middleware outside the view adds as
//     the status passes its writer (alexedwards/scs's LoadAndSave commits
//     a modified session there, with Set-Cookie and Vary: Cookie) counts
//     as one the handler set (a Vary so added keys the entry), and so does
//     one it adds at its writer's first Write (a compressing or session
//     middleware that holds the status until the body starts): the view
//     writes the first bytes of the body (at most 512, which net/http
//     buffers; an empty write for an empty body) to the writers outside it
//     before it judges the response for the last time and stores it. In a
//     SharedCache view whose handler flushes (httputil.ReverseProxy does),
//     the body reaches the writers below before the handler returns, and
//     the view waits for that first write, of at most 512 bytes, instead.
//     A writer that adds them at a later Write, or after the view has
//     returned (one that buffers the response), is not seen: the rest of
//     the body reaches it only once the entry is stored.
//   - Requests with an Authorization header, or with a TLS client
//     certificate (mutual TLS: r.TLS.PeerCertificates, verified or not),
//     are not cached unless UserKey says whose they are: without it they
//     pass through (BYPASS), in SharedCache too, where a client certificate
//     gets no exception for public responses (RFC 9111 section 3.5 speaks
//     of Authorization only).
//   - The key is the request's scheme (the connection's, https over TLS,
//     and beside it one a middleware set in r.URL when it is another: a
//     proxy-headers middleware's, from X-Forwarded-Proto) and Host as sent,
//     byte for byte (http.ServeMux routes "SHOP.EXAMPLE" apart from
//     "shop.example"; IgnoreHost leaves them out), KeyFormat (default "view/" and the path)
//     or KeyFunc (escaped, so that it cannot spell the parts after it), the
//     canonical query string (?b=2&a=1 is ?a=1&b=2, and so is ?a=1&&b=2,
//     ?a=1&a=2 is not ?a=2&a=1; sorted by name, so an origin that folds two
//     names into one, as PHP's a.b and a_b, is keyed as CanonicalQuery says;
//     PathOnly leaves it out, QueryString parameters: of the
//     handler's request too), the path the client sent when a
//     middleware rewrote it (http.StripPrefix: views mounted under /v1/ and
//     /v2/ both see "/users", and keep their entries apart; that path is
//     read from r.RequestURI, so a request no net/http server parsed, as a
//     serverless adapter makes with http.NewRequest, must have it set,
//     r.RequestURI = r.URL.RequestURI(), before the path is rewritten, or
//     the mounted views share their entries: /v2/users is answered with
//     /v1/users's response unless each has its own KeyFormat or Version),
//     Version,
//     UserKey, and the values of the request headers the response's Vary
//     names (Accept-Encoding by what negotiation can tell apart; a Vary set
//     by an outer middleware counts; a response with a Content-Encoding
//     varies on Accept-Encoding even if it does not say so), at most
//     MaxVariants of them per key. A request header the handler reads and
//     no Vary names is not in the key: a handler that builds links from
//     X-Forwarded-Host, X-Forwarded-Proto or Forwarded must answer with
//     Vary for it, or leave them to a trusted proxy-headers middleware
//     outside the view (it sets r.Host and r.URL.Scheme, which the key
//     holds but under IgnoreHost); else one forged request stores its
//     links for every client.
//   - The key names the request, not the view: two views of one Cache that
//     serve one URL (a router choosing by a header, as gorilla/mux's
//     Headers matcher or chi's RouteHeaders) share their entries unless
//     one has a KeyFormat (or Version) of its own.
//   - A hit replays the stored status, header (never Server-Timing, which
//     tells how one response was made) and body with Age and an ETag, and
//     answers If-None-Match / If-Modified-Since with 304 Not Modified.
//     The handler of a miss does not see those two headers: it makes the
//     full response, which is stored. It does see Range, If-Range, If-Match,
//     If-Unmodified-Since and A-IM, as without the cache: what it answers to
//     them alone (206, 412, 416, 226) is never stored, and a 200 it makes
//     despite them (a precondition that held, an If-Range that did not
//     match) is the whole representation, the plain request's.
//   - Concurrent misses of one key run the handler once; the others get its
//     response (a HIT), or run the handler themselves as soon as it is known
//     that the response will not be stored (streaming, too large, refused),
//     or wait for a new leader if the first one's client left. A waiter
//     whose client leaves (its context cancelled) runs nothing; one whose
//     context ends otherwise (a deadline) runs the handler itself with that
//     context, as without the cache (BYPASS, not stored). A waiter waits
//     at most CollapseTimeout (default 5 s), then runs the handler itself
//     (a MISS): the first to give up on a run that has gone on that long
//     takes it over, and its response is stored and answers the others,
//     the run it took over storing nothing; the others' are not stored.
//     A response refused only because MaxVariants variants are stored still goes to
//     the requests that vary alike; in a SharedCache view without UserKey, a
//     request with Authorization runs the handler itself. A request the
//     handler may answer for it alone (a Range, If-Match, If-Unmodified-Since
//     or A-IM: a 206, 412 or 226, never stored) joins a run in progress,
//     whose response answers it as a hit would (the whole 200 but in a
//     SharedCache view). It may start one: a 200 its handler makes despite
//     those fields answers the waiters (in a SharedCache view, from the
//     entry, as hits are); a 206, 412, 416 or 226 (or a 200 with
//     Content-Range: a part, never stored) hands them on to a new leader
//     that asks as they do, and the waiters that ask alike join its run or,
//     with none, each run the handler themselves. A handler that tailors
//     a 200 to those fields otherwise must name them in Vary.
//   - A handler that calls Flush, hijacks the connection, or uses
//     http.ResponseController passes through uncached and unbroken.
//   - When the backend fails or is slow (Options.Timeout: the lookup, or the
//     read of the tag versions after a miss), the handler serves the
//     request, and nothing is stored (BYPASS, for the requests that waited
//     for its run too); identical GET requests in flight still share one
//     run (one per variant of a page the view last saw vary), with
//     SharedCache or HonorRequestCacheControl too, where a request that
//     runs alone with the backend up (Authorization without UserKey; with
//     HonorRequestCacheControl, no-cache or no-store, and then max-age and
//     min-fresh too) runs alone, a Range never makes others wait for it, a
//     response that may not be stored (private, Set-Cookie, Vary: *)
//     answers its own request only, and only-if-cached is answered 504.
//     The error is counted and logged at most once per LogInterval. A
//     panic in the handler reaches the caller's recoverer and nothing is
//     stored.
//
// With StaleWhileRevalidate, an expired entry is served at once (STALE) while
// one background run of the handler, per key and at most 8 per wrapped
// handler at a time, refreshes it: these goroutines end with the handler
// run. A background run serves a GET of the request's URL with its Host,
// TLS state, context values (but timing's recorder: the refresh's metrics
// are not the client's) and header fields, less its validators, Range
// and (without UserKey or KeyFunc) its credentials, into a writer that
// starts with the fields outer middleware had set for the client (their
// Vary keys the variants as on the client's own miss); its context is not
// the client's, and is cancelled when the Cache is closed. The writers of
// the middleware outside the view are not there: a session middleware that
// adds Set-Cookie as the response passes it (keeping the client's own page
// out, as on its miss) adds nothing to a refresh. The client's Cookie and
// context values stay, as on its miss (a handler behind a middleware that
// admits only signed-in clients may read the cookie). A page made from a
// session must say Vary: Cookie itself (the refresh then replaces that
// client's variant only), or the view use UserKey: a session middleware
// adds Vary: Cookie only to the response that commits a changed session,
// and a signed-in client's later pages, made from the session it loaded,
// would be stored for everyone on their miss as on their refresh. A
// request with a Cookie the entry does not vary on (without UserKey or
// KeyFunc) starts no background refresh, so that a refresh never stores
// what the same request's miss would not (a remember-me cookie signing its
// client in): finding the entry stale, it runs as a miss through its own
// writers; within RefreshAhead it is served the fresh entry.
// With StaleIfError, an expired entry is served instead of a 5xx or a
// panic of the handler (the panic is then counted and logged as an error).
//
// Cache-Control directives of the request are ignored: a client cannot make
// the handler run (use RefreshIf for that) or keep a response out of the
// cache. SharedCache makes the view follow HTTP's own caching rules instead
// (RFC 9111 as a shared cache); InvalidateOnWrite and
// HonorRequestCacheControl add invalidation on writes and the request's
// directives, in either mode.
//
// A hit hands the stored header values to the response without copying
// them, so that it allocates nothing. A middleware outside the view may
// Set, Add or Del any field of a hit's header, as http.Header's methods do
// (an Add copies the value: its slice is full), but must not write into a
// value in place (h["X"][0] = v): that would change the stored response.
//
// The writer the handler is handed is inert once the handler returns (or
// panics), as compress's is: a handler that kept it gets the error
// compress.ErrHandlerReturned from its calls, which reach neither the
// response nor the stored entry.
//
// Cached panics if ttl is negative or an option is invalid: these are
// programming errors, found at start-up. The panic's value is an error
// wrapping ErrInvalidTTL or ErrInvalidOption. The middleware is safe for
// concurrent use. Each handler it wraps has its own flight of misses.
func (c *Cache) Cached(ttl time.Duration, opts ...ViewOption) func(http.Handler) http.Handler {
	cfg, fns := c.mustViewConfig(ttl, opts, false)
	return func(next http.Handler) http.Handler {
		return c.newView(ttl, cfg, fns, next)
	}
}

// CachedMux wraps a whole http.ServeMux: each request to a route is cached
// as by Cached, for ttl, or for the TTL that RouteTTL gives the route's
// pattern; routes named by SkipRoutes, and requests no route matches, pass
// through. Patterns are those of the mux (Go 1.22 syntax, r.Pattern), found
// with mux.Handler before the cache is read. Each route has its own
// background refreshes (at most 8 at a time), as a handler wrapped by
// Cached has. Two kinds of request pass through (BYPASS) where Cached
// would serve them from an entry, because the mux routes them apart from
// what the key tells apart: a HEAD that the mux routes to another pattern
// than the same request as a GET ("HEAD /file" registered beside
// "GET /file": the GET entry is another handler's response; reason
// "head-route"), and, with IgnoreHost, a request whose route names a host
// ("a.example/page" beside "b.example/page": the key would share their
// entry; reason "host-route"). It panics like Cached.
func (c *Cache) CachedMux(mux *http.ServeMux, ttl time.Duration, opts ...ViewOption) http.Handler {
	cfg, fns := c.mustViewConfig(ttl, opts, true)
	for _, t := range cfg.routeTTL {
		if _, err := c.resolveTTL(t); err != nil {
			panic(fmt.Errorf("caching: CachedMux: RouteTTL: %w", err))
		}
	}
	v := c.newView(ttl, cfg, fns, mux)
	v.mux = mux
	return v
}

// patternHasHost reports whether a ServeMux pattern ("[METHOD ][HOST]/[PATH]")
// names a host.
func patternHasHost(pattern string) bool {
	rest := pattern
	if i := strings.IndexAny(pattern, " \t"); i >= 0 {
		rest = strings.TrimLeft(pattern[i+1:], " \t")
	}
	return !strings.HasPrefix(rest, "/")
}

// headRoute reports whether pattern, the route the mux found for a HEAD,
// is a route of HEAD's own ("HEAD /file" beside "GET /file"). In a Go 1.22
// ServeMux a "GET ..." pattern also matches HEAD, and a method-less one
// never wins over a "GET ..." one of the same path, so a HEAD reaches
// another pattern than the same request as a GET only when that pattern's
// method is HEAD: a check of its first word, with no second lookup and no
// allocation. Under GODEBUG=httpmuxgo121=1 patterns have no method, and
// HEAD and GET always share a route.
func headRoute(pattern string) bool {
	i := strings.IndexAny(pattern, " \t")
	return i >= 0 && pattern[:i] == http.MethodHead
}

func (c *Cache) mustViewConfig(ttl time.Duration, opts []ViewOption, mux bool) (viewConfig, viewFuncs) {
	if _, err := c.resolveTTL(ttl); err != nil {
		panic(fmt.Errorf("caching: Cached: %w", err))
	}
	cfg, fns, err := newViewConfig(opts, mux)
	if err != nil {
		panic(err)
	}
	return cfg, fns
}

// ViewKey returns the backend key under which a view configured with opts
// stores its response to r. For a response with Vary it is the key of the
// record that lists the variants stored (each variant is under a key of its
// own): deleting it drops every variant, so that the next request of each
// variant runs the handler and stores its response again (the old variants'
// entries stay in the store, never served, until they expire). Use it to
// log, inspect or delete one entry from your own code: c.Backend().Delete
// deletes it once and returns the backend's error, neither retried nor
// superseding a run of the view in flight, which may store its response
// just after. To drop a page for good when its data changes, prefer
// InvalidatePath or a tag (InvalidateTags): both are retried in the
// background on failure, reach every process, and the response of a run
// that began before them is a miss after them.
// For the key of a path, pass a request made with
// http.NewRequest(http.MethodGet, url, nil):
// its scheme is the connection's, https only with r.TLS set (so an https
// URL gives the key of the entries stored behind a proxy that ends TLS,
// http; httptest.NewRequest sets r.TLS for an https URL).
// For a view behind a middleware that rewrites the path (http.StripPrefix),
// pass the request as the view sees it: its URL.Path rewritten, its
// RequestURI the client's (httptest.NewRequest sets it), as Peek says.
// It returns an error for invalid options, as Cached would panic.
//
// The key is that of a request whose writer had no Content-Type when the
// view got it (the usual case). A request whose writer had one, set (even
// nil) by a middleware outside the view, has an entry of its own, under
// another key, since a handler that sets its type only where the writer
// has none (http.ServeContent, FileServer) answers it differently: to
// delete a page for every request, delete every key ViewKeys returns.
func (c *Cache) ViewKey(r *http.Request, opts ...ViewOption) (string, error) {
	keys, err := c.viewKeys(r, opts, false)
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// ViewKeys returns the backend keys under which a view configured with opts
// may store its response to r, each as ViewKey says: ViewKey's key first,
// then the key of the entry of a request whose writer already had a
// Content-Type when the view got it (a middleware outside the view set one,
// or set it nil). Delete them all (c.Backend().Delete(ctx, keys...)) to
// drop the page for r's URL and user, with its Vary variants, whatever the
// middleware outside the view set. It returns an error for invalid options,
// as Cached would panic.
func (c *Cache) ViewKeys(r *http.Request, opts ...ViewOption) ([]string, error) {
	return c.viewKeys(r, opts, true)
}

// viewKeys returns ViewKey's key, and with typed the typed form's after it.
func (c *Cache) viewKeys(r *http.Request, opts []ViewOption, typed bool) ([]string, error) {
	cfg, fns, err := newViewConfig(opts, true)
	if err != nil {
		return nil, err
	}
	v := c.newView(0, cfg, fns, nil)
	r = urlSchemeAsConnection(r)
	var user string
	if cfg.userFunc != nil {
		user = cfg.userFunc(r)
	}
	keys := []string{v.viewKey(r, user, false)}
	if typed {
		keys = append(keys, v.viewKey(r, user, true))
	}
	return keys, nil
}

// urlSchemeAsConnection returns r, or, for a request made by a client
// (http.NewRequest: no RequestURI) whose URL has a scheme, a copy without
// it: that scheme is the URL's, not one a proxy-headers middleware set, and
// the key's scheme is the connection's (r.TLS), as for ViewKey and Peek
// before the URL's scheme was keyed: http behind a proxy that ends TLS,
// where the public https URL's entries are stored.
func urlSchemeAsConnection(r *http.Request) *http.Request {
	if r.RequestURI != "" || r.URL == nil || r.URL.Scheme == "" {
		return r
	}
	r2 := *r
	u := *r.URL
	u.Scheme = ""
	r2.URL = &u
	return &r2
}

// view is one cached handler (or mux).
type view struct {
	c *Cache
	viewFuncs
	cfg    viewConfig
	next   http.Handler
	mux    *http.ServeMux // CachedMux only
	ttl    time.Duration  // as given: 0 default, Forever
	policy httpcache.Policy
	extra  time.Duration     // how long entries are kept past their TTL
	sh     *httpcache.Shared // SharedCache's rules; nil without it
	ext    bool              // an option of view_shared.go is given

	tagKeys                []string // backend keys of cfg.tags, sorted
	formatHead, formatTail string   // KeyFormat around its %s
	formatHasPath          bool
	flight                 viewFlight
	downVary               downVary
	solo                   keyMarks // SharedCache: keys whose misses join no flight (hit-for-miss)
	passed                 keyMarks // SharedCache: keys whose misses pass the client's validators (hit-for-pass)
	refreshing             sync.Map // backend key -> refresh in progress, or a failed one's *aheadHold
	refreshSlots           refreshSlots
	// routeSlots are, for CachedMux, the refresh slots of each route, by
	// pattern (a *refreshSlots each, made on its first refresh): as many
	// as the mux has patterns, which the program registers.
	routeSlots sync.Map
	// varyWrites orders, in this process, the reading and rewriting of the
	// Vary record of one key, so that MaxVariants is exact here, without a
	// lock held across backend calls (view_vary_writes.go).
	varyWrites varyWrites

	counters viewCounters  // the named counters of its requests (stats.go)
	lease    time.Duration // Lease, or Options.Lease: 0 is off (lease.go)
}

func (c *Cache) newView(ttl time.Duration, cfg viewConfig, fns viewFuncs, next http.Handler) *view {
	v := &view{
		c:         c,
		viewFuncs: fns,
		cfg:       cfg,
		next:      next,
		ttl:       ttl,
		policy: httpcache.Policy{
			Statuses:           cfg.statuses,
			AllowAuthorization: cfg.userFunc != nil,
			RespectMaxAge:      cfg.respectMaxAge,
		},
		extra:   max(cfg.swr, cfg.sie),
		sh:      sharedRules(&cfg),
		ext:     cfg.extended(),
		tagKeys: c.tagKeys(cfg.tags),
		lease:   c.leaseOf(cfg.commonConfig),
		solo:    keyMarks{life: soloFor},
		passed:  keyMarks{life: passFor},
	}
	if !cfg.collapseSet && v.lease > 0 {
		// Without CollapseTimeout, a view under a lease waits in its
		// process as long as its leader may wait for the lease, and then
		// for its leader's own run: a process's waiters must not run the
		// handler each, after 5 s, where the lease promises one run, nor
		// each give up as their leader's run begins, once it gave up on a
		// holder gone (a crashed process), which would make a herd of
		// them at the moment the lease is given up on.
		v.cfg.collapse = v.lease + DefaultCollapseTimeout
	}
	v.formatHead, v.formatTail, v.formatHasPath = cutFormat(cfg.keyFormat)
	return v
}

// cutFormat splits a KeyFormat around its %s, each side escaped as a key
// part, so that no format can spell another part of the key (#v=, #u=).
func cutFormat(format string) (head, tail string, hasPath bool) {
	head, tail, hasPath = strings.Cut(format, "%s")
	return string(appendKeyPart(nil, head)), string(appendKeyPart(nil, tail)), hasPath
}

// keyHasPath reports whether the view's keys are built from the path.
func (v *view) keyHasPath() bool { return v.keyFunc == nil && v.formatHasPath }

// tagKeysFor returns the backend keys of the view's tags and of the
// versions of r's path, sorted, as the store wants them: the path's
// (InvalidatePath's) and, under Options.HostScopedWrites, the path's on r's
// host, which writes bump (on every host, "", for a view with IgnoreHost).
// When a middleware rewrote the path (http.StripPrefix), those of both
// paths: the one the handler sees and the one the client sent, so that
// either reaches the entry. A view whose key is not built from the path
// (KeyFormat without %s, KeyFunc) has no path version: requests to several
// paths share its entries.
func (v *view) tagKeysFor(r *http.Request) []string {
	if !v.keyHasPath() {
		return v.tagKeys
	}
	paths := [2]string{r.URL.Path}
	n := 1
	if raw := requestPath(r); raw != "" {
		if sent, rewritten := rewrittenFrom(r, raw); rewritten {
			paths[1], n = sent, 2
		}
	}
	host := ""
	if v.c.hostWrites && !v.cfg.ignoreHost {
		host = originHost(r)
	}
	keys := make([]string, 0, len(v.tagKeys)+2*n)
	keys = append(keys, v.tagKeys...)
	for _, path := range paths[:n] {
		keys = insertSorted(keys, v.c.pathTagKey(path))
		if v.c.hostWrites {
			keys = insertSorted(keys, v.c.hostPathTagKey(host, path))
		}
	}
	return keys
}

// insertSorted inserts k into the sorted keys, unless it is there.
func insertSorted(keys []string, k string) []string {
	if i, found := slices.BinarySearch(keys, k); !found {
		keys = slices.Insert(keys, i, k)
	}
	return keys
}

// found is the result of a lookup: the snapshot and its entry, and what the
// lookup learnt of the key's variants (also when the variant missed).
type found struct {
	snap  *httpcache.Snapshot
	e     *entry
	fresh bool
	key   string // the backend key of the snapshot (base or variant)
	// from is the key e was read under where key has changed since (a
	// waiter moved to its variant's key: view.miss), else "".
	from    string
	spec    *varySpec // the Vary record under the base key, if any
	variant string    // this request's variant for spec's names
	// late: a lease's check took the entry no longer fresh, stored by the
	// run its request waited for (lease.go).
	late bool
	// cleared is the store's count of Clears before the lookup that found
	// the entry (store.clears), where a response may freshen it (a
	// SharedCache view's revalidation): a Clear since may have removed
	// it, and what vouches for it must not store it again.
	cleared uint64
}

// result is the viewResult that hands f, a stored entry a leader found, to
// its waiters, with the versions f was written under: a waiter that came
// after an invalidation that ended f (one that landed after the leader's
// lookup) is not served it (view.stale).
func (f *found) result() viewResult {
	res := viewResult{snap: f.snap, names: f.spec.namesOrNil(), variant: f.variant}
	if f.e != nil && len(f.e.TagKeys) > 0 {
		res.vs = f.e.versions()
		res.check = new(versionCheck)
	}
	return res
}

// ServeHTTP serves r from the cache or through the handler, and counts its
// outcome once in the Cache's Stats.
func (v *view) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ttl := v.ttl
	if v.mux != nil {
		_, pattern := v.mux.Handler(r)
		if pattern == "" {
			v.mux.ServeHTTP(w, r) // no route: not the cache's business
			return
		}
		if r.Method != http.MethodConnect {
			// As the mux sets it: the view's name in ViewStats. ServeMux
			// gives a CONNECT request it redirects the client's own path as
			// its pattern, which must not become a name (CONNECT is never
			// cached: it is counted under "").
			r.Pattern = pattern
		}
		if v.cfg.skipRoutes[pattern] {
			v.pass(w, r, reasonSkipRoute)
			return
		}
		if v.cfg.ignoreHost && patternHasHost(pattern) {
			// The mux tells the hosts apart, and the key would not: a.example
			// would be served b.example's page.
			v.pass(w, r, reasonHostRoute)
			return
		}
		if r.Method == http.MethodHead && headRoute(pattern) {
			// A HEAD route of its own ("HEAD /file" beside "GET /file"):
			// the GET entry is another handler's response.
			v.pass(w, r, reasonHeadRoute)
			return
		}
		if t, ok := v.cfg.routeTTL[pattern]; ok {
			ttl = t
		}
	}
	if v.ext {
		if v.certifiedStranger(r) {
			v.pass(w, r, httpcache.ReasonCertificate)
			return
		}
		if v.serveExt(w, r, ttl) {
			return
		}
	}
	if reason := v.policy.Request(r); reason != httpcache.ReasonNone {
		v.pass(w, r, reason)
		return
	}
	if v.bypassIf != nil && v.bypassIf(r.Context(), r) {
		v.pass(w, r, reasonBypass)
		return
	}
	var user string
	if v.cfg.userFunc != nil {
		if user = v.cfg.userFunc(r); user == "" {
			if reason := httpcache.Credentials(r); reason != httpcache.ReasonNone {
				v.pass(w, r, reason)
				return
			}
		}
	}
	// The key is built on the stack, and made a string only past a hit.
	// Keyed by the request's type form (see appendViewKey): a request
	// whose writer already has a Content-Type has an entry of its own.
	var kb [keyBufLen]byte
	_, typed := w.Header()["Content-Type"]
	kbuf := v.appendViewKey(kb[:0], r, user, typed)
	if v.refreshIf != nil && v.refreshIf(r.Context(), r) || v.warmProbe(r) != nil {
		if r.Method == http.MethodHead {
			// A HEAD response has no body to store for GET: the handler
			// answers it, and the entry is left as it is.
			v.headMiss(w, r)
			return
		}
		base := string(kbuf)
		v.run(w, r, &runState{base: base, f: found{key: base}, ttl: ttl})
		return
	}
	// One clock reading serves the store's expiry check, freshness and Age:
	// on some virtual machines a reading costs as much as the rest of a hit.
	now := v.c.clock()
	var f found
	err := v.findIn(&f, r, kbuf, "", &now)
	if err == nil && f.fresh {
		if v.otherTypeForm(w, r, f.snap) {
			return // before a refresh, which would store this request's form
		}
		if v.cfg.ahead > 0 {
			// Before serving, as every refresh: it starts from what outer
			// middleware set on w.
			v.refreshAhead(w, r, string(kbuf), ttl, &f, now)
		}
		v.serveSnap(w, r, f.snap, now, httpcache.Hit) // its form checked above
		return
	}
	base := string(kbuf)
	if f.key == "" {
		f.key = base
	}
	var stale *found
	if err == errVaryTooLarge {
		v.pass(w, r, reasonVaryLarge)
		return
	}
	if err != nil {
		v.lookupFailed(r, err)
	}
	switch {
	case err == nil:
		// Negative (or 0 under Forever) when StaleIf declared a fresh
		// entry stale.
		past := pastFresh(f.e, f.e.clockAt(now))
		if v.cfg.swr > 0 && past < v.cfg.swr && v.refreshable(r, f.spec.namesOrNil()) {
			if v.otherTypeForm(w, r, f.snap) {
				return
			}
			v.revalidate(w, r, base, ttl, f.spec.namesOrNil(), f.e, false, 0)
			v.serveSnap(w, r, f.snap, now, httpcache.Stale) // its form checked above
			return
		}
		// Within StaleWhileRevalidate here, r was not refreshable: its own
		// run's failure is answered with the entry the window would have
		// served, as StaleIfError answers it.
		if v.pastAnswersFailure(past) && !f.snap.OtherTypeForm(w.Header()) {
			// (Not of this request's type form: its failure is served.)
			sf := f // a copy, so that f itself stays on the stack
			stale = &sf
		}
	case !errors.Is(err, ErrNotFound):
		if r.Method != http.MethodGet {
			v.pass(w, r, reasonBackend)
			return
		}
		// The backend is down or slow: the handler serves, and identical
		// requests still wait for one run rather than all reaching it: one
		// of their variant, when the page was last seen to vary.
		v.miss(w, r, &runState{base: base, f: v.downFound(r, base), ttl: ttl, down: true})
		return
	}
	if r.Method == http.MethodHead {
		v.headStale(w, r, base, ttl, stale)
		return
	}
	v.miss(w, r, &runState{base: base, f: f, ttl: ttl, stale: stale})
}

// lookupFailed counts err, what a lookup for r returned in place of an
// entry: a corrupt entry (deleted) in the view's Counts.Corrupt, a backend
// error in Errors and the log (failOpen), unless r's client left (not the
// backend's error: see store.report).
func (v *view) lookupFailed(r *http.Request, err error) {
	v.counter(r).countLookup(err)
	if !errors.Is(err, ErrNotFound) && !callerEnded(r.Context(), err) {
		v.failOpen(r, "view lookup", err)
	}
}

// downFound is what a miss whose lookup failed runs under: the key of r's
// variant when the page was last seen to vary (downVary), else base.
func (v *view) downFound(r *http.Request, base string) found {
	f := found{key: base}
	if names := v.downVary.get(base); names != nil && !httpcache.VaryTooLarge(r, names) {
		f.variant = httpcache.VariantKey(r, names)
		f.key = v.c.variants.key(base, f.variant, names)
	}
	return f
}

// certifiedStranger reports whether r, a GET or HEAD, came with a TLS
// client certificate and names no user of the view (no UserKey, or one that
// returns ""). The default flow passes such a request through in
// Policy.Request; serveExt, which takes GET and HEAD before it, would serve
// it the entry of every client. RFC 9111 section 3.5's exception for
// Authorization (a response that says public may answer it) is not made
// for a certificate: a site's public pages say public whether or not the
// handler also reads r.TLS, which no directive tells. UserKey (called
// again in serveExt for such a request: only requests with a certificate
// pay for it) is the way to cache it.
func (v *view) certifiedStranger(r *http.Request) bool {
	if !httpcache.HasClientCertificate(r) || r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return v.cfg.userFunc == nil || v.cfg.userFunc(r) == ""
}

// headMiss runs the handler for a HEAD no entry answers: a HEAD response
// has no body to store for GET.
func (v *view) headMiss(w http.ResponseWriter, r *http.Request) {
	v.announce(w, r, outMiss, httpcache.Miss)
	hr := v.keyedRequest(r) // as the GET's run sees it
	v.forward(w, hr)
	r.Pattern = hr.Pattern // a ServeMux's below, as run hands it on
}

// headStale is headMiss for a HEAD that found a stale entry which answers
// its run's failure, as it answers a GET's (runState.stale): within
// StaleIfError, or within StaleWhileRevalidate for a request that starts
// no refresh (refreshable). A 5xx or a panic of the handler is answered
// with the entry (without its body), the header as outer middleware had
// set it; any other response reaches the client as headMiss forwards it.
// Without stale, it is headMiss. base and ttl are r's key and TTL.
func (v *view) headStale(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, stale *found) {
	if stale == nil {
		v.headMiss(w, r)
		return
	}
	before := w.Header().Clone()
	header.Canonicalize(before) // as the recorder canonicalizes the header
	// The recorder and the run's state (its report within) in one
	// allocation.
	run := &struct {
		rec httpcache.Recorder
		st  runState
	}{rec: httpcache.Recorder{Check: headerOnly}, st: runState{base: base, f: found{key: base}, ttl: ttl, stale: stale}}
	v.runHead(w, r, &run.rec, &run.st, before)
}

// headerOnly is the Check of a HEAD's recorder: the response is refused at
// commit, and passes through with nothing of a body (which a HEAD's
// handler may write, and net/http drops) recorded.
func headerOnly(int, http.Header) httpcache.Reason { return reasonHeaderOnly }

// serverFailure reports whether status is a failure a stale entry may
// answer in its place (Recorder.Divert).
func serverFailure(status int) bool { return status >= 500 }

// runReport tells timing's Server-Timing the cache status of a run once
// (reportCache). Where a stale entry may answer the run's failure, or a
// 304 freshen the entry it revalidates (Recorder.Divert), the run's own
// status is reported only once the handler's status is known not to be
// diverted, or the handler ended without a status the entry answers: a
// request the entry answers reports STALE (or HIT) alone, as serveSnap
// does, and as its status header says, not MISS first. Its place among
// the metrics is kept as the run begins (timing.Reserve): a handler that
// fills timing's bounds (MaxMetrics, MaxHeaderBytes) leaves it in.
type runReport struct {
	r *http.Request
	// slot is the place kept for the report where it comes after the
	// handler's metrics (watch); zero when none is.
	slot timing.Reservation
	// (st and the flags last: no padding between them, 32 bytes in all,
	// in every miss's runState.)
	st       httpcache.CacheStatus
	done     bool // reported, or nothing to report (a background run)
	reserved bool
}

// restart sets p for a run of r whose status is st (done: nothing to
// report), keeping the place an earlier run kept and did not fill: p is
// one request's (runState.report), and a run again after a 304 that
// validated nothing (notModified) reports in the place its revalidation
// kept, before the handler's metrics of both runs, not after them.
func (p *runReport) restart(r *http.Request, st httpcache.CacheStatus, done bool) {
	slot, kept := p.slot, p.reserved && !p.done
	*p = runReport{r: r, st: st, done: done}
	if kept {
		p.slot, p.reserved = slot, true
	}
}

// report reports the run's status, unless it was.
func (p *runReport) report() {
	if p.done {
		return
	}
	p.done = true
	if p.reserved {
		p.slot.Set(0, cacheTimingDesc[p.st])
		return
	}
	reportCache(p.r, p.st)
}

// reportAs reports st, what answered the run's request r in place of the
// run's own response (the stale entry, the entry a 304 freshened), in the
// place kept for the run's report; on a nil p, or where the run's status
// was reported already, it reports st as reportCache does.
func (p *runReport) reportAs(r *http.Request, st httpcache.CacheStatus) {
	if p == nil || p.done {
		reportCache(r, st)
		return
	}
	p.st = st
	p.report()
}

// watch reports the run at once when it may divert nothing (mayDivert
// false: no stale entry, no entry revalidated), as the run begins, before
// the handler's own metrics; otherwise it makes rec's Divert report it at
// the first status it does not divert. The Divert of a run is called at
// the handler's first status, before it passes the writers below (and
// timing's, which then sends its header).
func (p *runReport) watch(rec *httpcache.Recorder, mayDivert bool) {
	divert := rec.Divert
	if divert == nil || !mayDivert || p.done {
		p.report()
		return
	}
	if !p.reserved {
		p.slot, p.reserved = timing.Reserve(p.r.Context(), "cache"), true
	}
	rec.Divert = func(code int) bool {
		if divert(code) {
			return true
		}
		p.report()
		return false
	}
}

// runHead runs the handler for the HEAD r through rec, whose Check refuses
// the response at commit (headerOnly, or head's), counted and announced as
// a miss. With a stale entry (st.stale), a 5xx or a panic of the handler
// before it committed another status is answered, as run answers a GET's
// failure, with what answers it as it comes (answerFailure: the entry
// read again and judged then, or a newer fresh entry), with the header in
// before: served reports that it was, and the panic is then logged, not
// raised; where nothing does, the failure goes on as without the entry.
// status and h are the response's, as rec.Finish returns them, when the
// handler returned. The run's report to timing is kept in st (its base,
// ttl and ext are r's), in memory the caller allocates anyway, so that
// the run allocates none of its own.
func (v *view) runHead(w http.ResponseWriter, r *http.Request, rec *httpcache.Recorder, st *runState, before http.Header) (status int, h http.Header, served bool) {
	stale, rp := st.stale, &st.report
	if stale != nil {
		// Read before the handler runs: what its failure's answer judges
		// this process's invalidations since by (failedAnswer).
		st.marks = v.marks()
		st.answer = nil
		rec.Divert = func(code int) bool {
			return serverFailure(code) && v.answerFailure(r, st, before).snap != nil
		}
	}
	*rp = runReport{r: r, st: httpcache.Miss}
	rp.watch(rec, stale != nil)
	if v.cfg.statusHeader != "" {
		w.Header()[v.cfg.statusHeader] = httpcache.Miss.Values()
	}
	returned, finished := false, false
	defer func() {
		// A writer the handler kept is inert, whatever ended the run: a
		// panic of the handler, or one of Finish (a writer below that
		// panics at the status it writes), which detaches it first too.
		rec.Detach()
		if finished {
			return
		}
		p := recover()
		// A panic of Finish (returned) is a writer outside the view that
		// broke, not a failure of the handler the entry may answer: the
		// request counts as a miss, and the panic goes on.
		if stale != nil && !returned && p != nil && p != http.ErrAbortHandler && (rec.Diverted() != 0 || !rec.Committed()) {
			if a := v.answerFailure(r, st, before); a.snap != nil {
				v.failOpen(r, "view handler panicked, served "+strings.ToLower(a.st.String()), fmt.Errorf("caching: handler panic: %v", p))
				v.serveInstead(w, r, st, *a, before, rp)
				served = true
				return
			}
		}
		rp.report()
		v.record(r, outMiss)
		if p != nil {
			panic(p)
		} // else runtime.Goexit: let it go on
	}()
	hr := v.keyedRequest(r) // as the GET's run sees it
	v.next.ServeHTTP(rec.Reset(w), hr)
	returned = true
	r.Pattern = hr.Pattern // a ServeMux's below, as run hands it on
	status, h, _, _ = rec.Finish()
	finished = true
	if rec.Diverted() != 0 {
		v.serveInstead(w, r, st, *v.answerFailure(r, st, before), before, rp)
		return status, h, true
	}
	rp.report() // a hijacked connection's: no status was written
	v.record(r, outMiss)
	return status, h, false
}

// serve answers r with a stored snapshot, and counts it; or, where w's
// header differs from the storing request's writer in a type that may
// change the handler's response (httpcache.Snapshot.OtherTypeForm), runs
// the handler instead, as a Bypass: nothing stored, the entry left as it
// is for the requests of its own form.
func (v *view) serve(w http.ResponseWriter, r *http.Request, snap *httpcache.Snapshot, now time.Time, st httpcache.CacheStatus) {
	if !v.otherTypeForm(w, r, snap) {
		v.serveSnap(w, r, snap, now, st)
	}
}

// otherTypeForm runs the handler for r as serve does where snap may not
// answer it (httpcache.Snapshot.OtherTypeForm), and reports whether it
// did: called before a refresh starts, which would run the handler with
// w's header and store the form of r's response in place of the entry's.
func (v *view) otherTypeForm(w http.ResponseWriter, r *http.Request, snap *httpcache.Snapshot) bool {
	if !snap.OtherTypeForm(w.Header()) {
		return false
	}
	v.pass(w, r, reasonTypeForm)
	return true
}

// serveSnap is serve without the check of the writer's type: for a
// response whose handler has run for r already (a stale entry in place of
// its failure, a 304 that freshened the entry).
func (v *view) serveSnap(w http.ResponseWriter, r *http.Request, snap *httpcache.Snapshot, now time.Time, st httpcache.CacheStatus) {
	v.serveFor(nil, w, r, snap, now, st)
}

// serveFor is serveSnap for a request answered in place of the response of
// the run rp reports (nil: none): st takes the place kept for its report
// (runReport.reportAs).
func (v *view) serveFor(rp *runReport, w http.ResponseWriter, r *http.Request, snap *httpcache.Snapshot, now time.Time, st httpcache.CacheStatus) {
	switch st {
	case httpcache.Stale:
		v.record(r, outStale)
	case httpcache.Bypass:
		v.record(r, outBypass) // a waiter of a run the backend failed
	default:
		v.record(r, outHit)
	}
	if rp == nil {
		reportCache(r, st) // a hit: inlined, where reportAs is too large
	} else {
		rp.reportAs(r, st)
	}
	if v.sh != nil && snap.ServeRange(w, r, now, v.cfg.statusHeader, st) {
		return
	}
	snap.Serve(w, r, now, v.cfg.statusHeader, st)
}

// pass serves r through the handler without the cache, for reason.
func (v *view) pass(w http.ResponseWriter, r *http.Request, reason httpcache.Reason) {
	if p := v.warmProbe(r); p != nil {
		p.passed(reason) // a Warm request is not counted
		reportCache(r, httpcache.Bypass)
		if v.cfg.statusHeader != "" {
			w.Header()[v.cfg.statusHeader] = httpcache.Bypass.Values()
		}
	} else {
		v.announce(w, r, outBypass, httpcache.Bypass)
	}
	v.forward(w, r)
}

// announce counts a request the handler answers, and tells it to
// Server-Timing and the status header.
func (v *view) announce(w http.ResponseWriter, r *http.Request, o outcome, st httpcache.CacheStatus) {
	v.record(r, o)
	reportCache(r, st)
	if v.cfg.statusHeader != "" {
		w.Header()[v.cfg.statusHeader] = st.Values()
	}
}

// find reads the entry for r under base: the snapshot itself, or the Vary
// record, then the snapshot of r's variant.
func (v *view) find(r *http.Request, base string, now *time.Time) (found, error) {
	var f found
	err := v.findIn(&f, r, nil, base, now)
	return f, err
}

// findIn is find into *f (the caller's, so that a hit copies nothing) for
// the base key in kb (a key built in a buffer, which it makes a string of
// only for a variant or a remote store) or, when kb is nil, in base. With
// kb, f.key is left "" when the base key is the snapshot's. *now is the
// clock reading to judge by; a variant read after a remote record is judged
// by a new one, left in *now for the caller to serve with.
func (v *view) findIn(f *found, r *http.Request, kb []byte, base string, now *time.Time) error {
	*f = found{key: base}
	ctx := r.Context() // lookup bounds its remote reads by Options.Timeout
	var tagKeys []string
	if v.c.store.local == nil {
		// One round trip: the entry with its tag versions. (An in-process
		// store checks the tags the entry records, at no cost.)
		tagKeys = v.tagKeysFor(r)
	}
	e, val, err := v.loadIn(ctx, kb, base, tagKeys, *now)
	if err != nil {
		return err
	}
	if spec, ok := val.(*varySpec); ok {
		if kb != nil {
			base = string(kb)
		}
		if httpcache.VaryTooLarge(r, spec.names) {
			return errVaryTooLarge
		}
		f.spec = spec
		f.variant = httpcache.VariantKey(r, spec.names)
		// One hash of a hidden variant names both its key and its place
		// in the record.
		key, id, hashed := v.c.variants.keyID(base, f.variant, spec.names)
		f.key = key
		known := &id
		if !hashed {
			known = nil
		}
		if !spec.listsID(v.c.variants, f.variant, known) {
			// Stored under an earlier record, deleted since: from data
			// that may have changed. Its run lists it again.
			return ErrNotFound
		}
		if v.c.store.local == nil {
			// The record may have come from the remote store, as slowly as
			// Options.Timeout: a reading from before it would keep a
			// variant that expired (or left its near cache's MaxStale)
			// meanwhile. The caller judges and serves with this one.
			*now = v.c.clock()
		}
		if e, val, err = v.load(ctx, f.key, tagKeys, *now); err != nil {
			return err
		}
	}
	snap, ok := val.(*httpcache.Snapshot)
	if !ok || requestStatus(snap.Status) {
		// An entry an earlier version stored with a status the view no
		// longer stores (a 412 for one client's If-Match) is none: neither
		// fresh nor stale, in either mode; its run replaces it.
		return ErrNotFound
	}
	f.snap, f.e, f.fresh = snap, e, v.c.store.fresh(e, *now) && (v.staleIf == nil || !v.staleIf(response(snap, *now)))
	return nil
}

// load reads one entry and its decoded value.
func (v *view) load(ctx context.Context, key string, tagKeys []string, now time.Time) (*entry, any, error) {
	return v.loadIn(ctx, nil, key, tagKeys, now)
}

// loadIn is load for the key in kb or, when kb is nil, in key.
func (v *view) loadIn(ctx context.Context, kb []byte, key string, tagKeys []string, now time.Time) (*entry, any, error) {
	var (
		e   *entry
		err error
	)
	if kb != nil {
		e, err = v.c.store.lookupBytes(ctx, kb, tagKeys, now)
	} else {
		e, err = v.c.store.lookup(ctx, key, tagKeys, now)
	}
	if err != nil {
		return nil, nil, err
	}
	if e.value != nil {
		return e, e.value, nil
	}
	if val := e.decodedValue(); val != nil {
		return e, val, nil
	}
	val, err := decodeViewPayload(e.Payload)
	if err != nil {
		if kb != nil {
			key = string(kb)
		}
		v.c.store.dropCorrupt(ctx, key)
		return nil, nil, errCorruptMiss
	}
	if e.keepDecoded(val) {
		if snap, ok := val.(*httpcache.Snapshot); ok {
			// Kept for every later hit of the near entry: its outer
			// directives, which Decode leaves encoded until first read,
			// are decoded once now, so that countDecoded counts them.
			_ = snap.OuterDirectives()
		}
		v.c.store.countDecoded(kb, key, e, val)
	}
	return e, val, nil
}

// runState is what running the handler for a miss needs. Every miss
// allocates one, in the allocator's 320-byte size class
// (runtime/sizeclasses.go; TestRunStateSize): its flags fill two words,
// one after call and one after forget (a flag declared elsewhere costs a
// word of padding), and what only a failed run needs (answer) is allocated
// when it fails.
type runState struct {
	base       string
	f          found         // what the lookup found (the Vary record, a stale entry)
	ttl        time.Duration // as given: 0 default, Forever
	stale      *found        // an entry to serve if the handler fails (stale-if-error)
	call       *viewCall     // the flight this run leads; nil when it leads none
	background bool          // a refresh nobody waits for: nothing is counted
	joinOnly   bool          // joins a run of its key in progress, never leads one
	// down: the lookup failed, or the request's context ended while it
	// waited for another's run (view.ended): nothing is read or stored, a
	// run that leads a flight (call) still hands its response to its waiters.
	down bool
	// unread: the lookup worked but the tag versions could not be read
	// (run): as with down, nothing is stored and the run counts, and
	// reports itself, as a bypass; its response still goes to its waiters.
	unread bool
	// alone: the request waited CollapseTimeout for another's run of its
	// key and gave up (view.gaveUp): its run counts, and reports itself,
	// as a miss, reads no tag versions, stores nothing, deletes nothing (a
	// refusal does not drop the entry it would have replaced: the run it
	// waited for may have stored a newer one meanwhile), and leads no
	// flight.
	alone bool
	// staleOnError: the request's own directives (HonorRequestCacheControl)
	// let a stale entry answer it only when its handler fails: stale is
	// there only for its own stale-if-error (SharedCache), or it refuses
	// stale responses (max-age, min-fresh, a max-stale=N too short for the
	// entry). It is not answered with a stale entry while another process
	// runs the handler under the lease, its own or one a run it waited for
	// got.
	staleOnError bool
	// freshOnly: the request's own directives (HonorRequestCacheControl:
	// no-cache, max-age, min-fresh, max-stale=N) refuse a stale response.
	// Another process's run it waited for under the lease answers it only
	// with an entry still fresh when read, not with one whose TTL ended
	// (or that StaleIf declared stale) meanwhile, which answers the others
	// (lease.go): it runs its own handler instead, and in its process does
	// not take such an entry from the leader it waited for (viewResult.late).
	freshOnly bool
	// ext is the run of a SharedCache or HonorRequestCacheControl view:
	// see extRun.
	ext *extRun
	// refresh is what a background refresh alone carries (revalidate,
	// SharedCache's stale-while-revalidate and RefreshAhead): nil in any
	// other run, which keeps a miss's runState in the 288-byte size class.
	refresh *refreshRun
	// cleared is the store's count of Clears when the run (or the flight
	// it leads) began: a Clear since keeps its response out of the store.
	cleared uint64
	// forget are the path version keys the run of a flight (call) created
	// and would delete (its response was refused), for the flight's end
	// to delete or keep (view.endFlight).
	forget []string
	// blind: no lookup preceded the run (RefreshIf, Warm), whose response
	// replaces whatever its key holds.
	blind bool
	// passValidators: hit-for-pass (runExt): the handler gets the client's
	// own validators, and the run leads no flight.
	passValidators bool
	// ahead: a background refresh that RefreshAhead started, counted in
	// Stats.AheadRefreshes once it runs (refreshInBackground).
	ahead bool
	// renewed: a background refresh stored its response, or freshened
	// the entry (a 304), or found a newer entry stored (reasonOverrun):
	// set by store. A refresh of RefreshAhead's that ends without it holds
	// off the next (aheadHold).
	renewed bool
	// committed is the status the run's response committed with
	// (Recorder.Committing), 0 before: a 5xx refused, at commit or after,
	// for whatever reason, is the run's failure (run's OnFail).
	committed int
	// marks are the store's counts when the run began (its flight's, or
	// its own outside any): what its failure's answer judges this
	// process's invalidations since by (failedAnswer).
	marks runMarks
	// answer is what answers the run's failure in place of its response,
	// once judged (view.answerFailure); nil before. Only a failed run sets
	// it, and allocates it then: a miss's runState stays small.
	answer *failAnswer
	// report is the run's report to timing (run): kept here, where the
	// run's Divert closure may point to it, so that a miss allocates no
	// runReport of its own.
	report runReport
}

// refreshRun is the part of a background refresh's runState that no other
// run has (runState.refresh).
type refreshRun struct {
	// outer is the client's header as outer middleware left it when the
	// request reached the view (live: copied when the refresh starts,
	// before the client's response is served).
	outer http.Header
	// replaces is when the entry it refreshes was stored (entry.Created)
	// as the request that started it read it: 0 when none was read
	// (view.replacedSince).
	replaces int64
	// aim is, for a refresh of RefreshAhead's, the entry it refreshes, as
	// the hit read it: what a hold of an earlier refresh keeps off, and
	// what its own hold, if it renews nothing, keeps off (aheadHold).
	aim aheadAim
	// hold is, for a refresh of RefreshAhead's, how long it holds off the
	// next if it renews nothing: aheadHoldFor the entry it refreshes, so
	// that the hold ends before an entry of the same lifetime stored
	// meanwhile is due.
	hold time.Duration
}

// newRefresh returns st, a background refresh's, with x as its refresh:
// both in one allocation, so that a refresh allocates no more than when x's
// fields were st's own.
func newRefresh(st runState, x refreshRun) *runState {
	both := &struct {
		st runState
		x  refreshRun
	}{st, x}
	both.st.background, both.st.refresh = true, &both.x
	return &both.st
}

// outcome is how a run counts: a miss, or a bypass when the lookup or the
// read of the tag versions failed (the cache could not be consulted).
func (st *runState) outcome() outcome {
	if st.down || st.unread {
		return outBypass
	}
	return outMiss
}

// client returns the request a stored response answers for r: r as its
// client sent it. In a SharedCache view, r carries the cache's own
// validators (conditional), which a stored response would answer with a
// 304 that the client, which may have sent none, cannot use.
func (st *runState) client(r *http.Request) *http.Request {
	if st.ext != nil && st.ext.client != nil {
		return st.ext.client
	}
	return r
}

// miss runs the handler for a request the cache could not answer, once for
// all the concurrent misses of its key.
func (v *view) miss(w http.ResponseWriter, r *http.Request, st *runState) {
	if !v.usable(st.client(r), nil) {
		// A request that may not use every response (one with
		// Authorization in a SharedCache view without UserKey) neither
		// starts a run nor joins one: the others would wait for its
		// response, which is usually not theirs to reuse, and it would
		// wait for theirs, usually not shareable with it (no public), then
		// run the handler: twice the time it takes without the cache.
		v.run(w, r, st)
		return
	}
	if v.sh != nil && (st.f.e != nil && st.f.e.FreshUntil != 0 && st.f.e.FreshUntil <= st.f.e.Created ||
		v.solo.has(st.f.key, v.c.clock())) {
		// The stored entry was never reusable unvalidated (no-cache,
		// max-age=0, stale on arrival), or the last run of the key made a
		// response so (and stored nothing to revalidate: no validator): the
		// outcome of a run would answer no waiter, so each request runs on
		// its own, as without the cache, rather than wait for another's run
		// and then run its own (Varnish's hit-for-miss).
		v.run(w, r, st)
		return
	}
	rejoined, rekeyed := false, false
	// A request that may get a response the others may not reuse
	// (answeredAlone) leads as any: a handler that ignores its Range or
	// precondition makes the 200 every waiter is answered with, and one
	// that answers it alone hands the flight on to a new leader
	// (viewResult.alone); the waiters handed on so may lead none either
	// (joinOnly, set below), nor take one over (takeOver).
	// CollapseTimeout bounds the request's waits together, from the first:
	// a chain of leaders whose clients leave, a takeover, or a rekey to its
	// variant, does not start it again. The real clock's: Options.Clock
	// tells the time and makes no timers.
	var patience chan struct{}
	var stopPatience func() bool
	defer func() {
		if stopPatience != nil {
			stopPatience()
		}
	}()
	// retried was released for a retry: acted on once it joined the key's
	// next call, or, when there is none to join (a request that may not
	// lead one: joinOnly), once its request is answered, as the others.
	var retried *viewCall
	// The other calls it waited for are acted on once its request is
	// answered: told to run on its own, it may store under the path
	// version keys their runs created, which they then keep for it
	// (viewFlight.end). Deferred: a panic acts too, also one between a
	// retry's wait and its next join, which would otherwise leave the
	// retried call in the flight's left, its keys undecided, until the
	// next call of its key.
	var answered []*viewCall
	defer func() {
		if retried != nil {
			v.waited(r, st, retried)
		}
		for _, c := range answered {
			v.waited(r, st, c)
		}
	}()
	for {
		since := v.c.store.invalidated.Load() // before it joins (view.stale)
		call, leader := v.flight.join(st.f.key, !st.joinOnly)
		if call == nil {
			// retried, if any, is acted on after the run (deferred): as
			// the last waiter of a run that ended, with no next call to
			// take its keys over, it decides for them (waited), a backend
			// round trip its handler must not wait for; and its run may
			// store under them, which keeps them.
			v.run(w, r, st)
			return
		}
		if retried != nil {
			v.waited(r, st, retried)
			retried = nil
		}
		if leader {
			v.lead(w, r, st, call)
			return
		}
		if patience == nil && v.cfg.collapse > 0 {
			ch := make(chan struct{})
			patience, stopPatience = ch, time.AfterFunc(v.cfg.collapse, func() { close(ch) }).Stop
		}
		res, how := call.wait(r.Context(), r, patience)
		if how == waitDone && res.retry {
			retried = call
			if hook := waiterRetryHook.Load(); hook != nil {
				(*hook)(call.key, r)
			}
		} else {
			answered = append(answered, call)
		}
		switch {
		case how == waitEnded:
			v.ended(w, r, st) // its context ended while it waited
			return
		case how == waitGaveUp:
			if next := v.takeOver(st, call); next != nil {
				v.c.stats.collapseTimeouts.Add(1)
				v.c.stats.collapseTakeovers.Add(1)
				v.lead(w, r, st, next) // its response is stored, for the others
				return
			}
			v.gaveUp(w, r, st)
			return
		case res.retry:
			if res.alone && answeredAlone(st.client(r)) {
				// Its leader was answered alone, as it would be: it
				// joins a plain waiter's run, or, with none, runs alone,
				// rather than lead the others to that answer again,
				// whether by a join or by taking a run over.
				st.joinOnly = true
			}
			continue // the leader's client left: one of the waiters leads now
		case res.failed && (st.stale != nil || !st.down):
			// The leader's handler failed, before any response: as its
			// own run's failure, answered with the stale entry its lookup
			// found (stale-if-error), rather than one more run of the
			// failing handler per waiter; or, with none, with a fresh
			// entry stored since (another process's run, a refresh), as a
			// request made now would be. (Not read again where its lookup
			// failed: the backend is down.)
			if a := v.failedAnswer(r, st, &call.runMarks); a.snap != nil {
				client := st.client(r)
				if !v.otherTypeForm(w, client, a.snap) {
					v.refreshAnswered(w, client, st, a) // before serving: see revalidate
					v.serveSnap(w, client, a.snap, a.now, a.st)
				}
				return
			}
			// Invalidated, or past its window, while it waited: it runs
			// its own handler, as a request without the entry does, and
			// its failure is not answered with the entry either.
			st.stale = nil
		case res.stale && st.staleOnError:
			// The stale entry the leader served while another process
			// runs the handler: not an answer for this request, which
			// waits for that run (leading the next call of its key).
			continue
		case res.late && st.freshOnly:
			// The entry another process's run stored, no longer fresh
			// when the leader read it: not an answer for a request that
			// refuses stale responses, which waits for a new run (leading
			// the next call of its key).
			continue
		case res.snap != nil && ofVariant(r, res.names, res.variant) && v.usable(r, res.snap):
			now := v.c.clock()
			if !res.freshAt(now) {
				// Stale by the time the run ended (SharedCache: a body
				// made more slowly than the response's lifetime): served
				// to nobody unvalidated, it runs its own request.
				break
			}
			if v.stale(r, &call.runMarks, res, since) {
				// Invalidated while the leader's handler ran (a write):
				// its response may predate it. Once, the waiters wait
				// for a new run rather than each run the handler.
				if !rejoined {
					rejoined = true
					continue
				}
				break
			}
			v.serve(w, st.client(r), res.snap, now, res.status())
			return
		case (res.snap != nil || res.other) && len(res.names) > 0 && !rekeyed && !httpcache.VaryTooLarge(r, res.names):
			// The response varies, and the waiter's variant may not be the
			// leader's: it joined the flight of the base key while the
			// Vary record was unknown (or, the backend down, could not be
			// read). With other, it leaves as soon as the leader's header
			// says so, before the leader's run has ended. It waits for a run of its own
			// variant instead (under that variant's lease), shared with
			// the other waiters of that variant, rather than each run the
			// handler. Once: a waiter whose variant's run varies on other
			// names runs its own.
			variant := httpcache.VariantKey(r, res.names)
			if key := v.c.variants.key(st.base, variant, res.names); variant != res.variant && key != st.f.key {
				rekeyed = true
				st.f.from, st.f.key, st.f.variant = st.f.key, key, variant
				continue
			}
		}
		v.run(w, r, st)
		return
	}
}

// failAnswer is what answers a request in place of its failed run's
// response (view.failedAnswer): snap, served with the clock reading now and
// the status st; with snap nil, nothing does.
type failAnswer struct {
	snap *httpcache.Snapshot
	now  time.Time
	st   httpcache.CacheStatus
	// hit is, for a newer entry served as a hit in a view with
	// RefreshAhead, the entry as found and the request's directives: the
	// refresh its hit may start (refreshAnswered). Nil otherwise.
	hit *foundHit
}

// foundHit is an entry found for a request with its directives rq.
type foundHit struct {
	f  found
	rq httpcache.CacheControl
}

// refreshAnswered starts, where a is a newer entry served to r as a hit
// in place of its failed run's response (failAnswer.hit), the RefreshAhead
// refresh a lookup's hit of it starts when it is due; before it is served,
// from what outer middleware set on w, as every refresh.
func (v *view) refreshAnswered(w http.ResponseWriter, r *http.Request, st *runState, a failAnswer) {
	if a.hit != nil {
		v.refreshAheadExt(w, r, st.base, st.ttl, &a.hit.f, a.hit.rq, a.now)
	}
}

// failedAnswer returns what answers r, whose run failed (the run r led, or
// the one it waited for: viewResult.failed) as a lookup made now would
// answer it: st.stale, the stale entry r's lookup found, where it still
// answers that failure; or an entry stored since (another process's run, a
// refresh) in its place, or where r's lookup found none that answers a
// failure (st.stale nil), where it is fresh and a lookup made now would
// serve it to r as a hit. Nothing: r's failure goes to its client as it is
// (a waiter runs its own handler). The run may have been long: an
// invalidation since (of a tag or its path, a Delete of its key, a Clear)
// ended the entry, which a request that came after it misses; and the
// entry's stale window (stale-if-error, or stale-while-revalidate for a
// request that starts no refresh) is judged now, by the Cache's clock, as
// the failure of r's own run would be. The key is read again (on a remote
// store one round trip, two for a page that varies: the price of a failure
// only), and only the entry found then is served stale: another stored since
// is none that r's lookup judged, and answers r only as a hit would. A read
// that fails is counted as a lookup's (lookupFailed), and keeps the entry,
// judged now: it fails open, as store.current does, but not past what this
// process knows without the store, as view.stale judges a leader's response
// for its waiters: an invalidation of its own that succeeded since the run
// began (m: its flight's, or its own), a Clear begun since, or one of r's
// tags whose invalidation failed since and waits for its retry. (One made
// between r's lookup and the run's start, or during an earlier call r waited
// for, is not seen then.)
func (v *view) failedAnswer(r *http.Request, st *runState, m *runMarks) failAnswer {
	client, old := st.client(r), st.stale
	now := v.c.clock()
	var rq httpcache.CacheControl
	if st.ext != nil && v.cfg.honorRequest {
		rq = httpcache.ParseRequestCacheControl(client.Header)
	}
	var f found
	switch err := v.findIn(&f, client, nil, st.base, &now); {
	case err == nil:
		if old == nil || !sameEntry(markOf(f.key, f.e, nil), markOf(old.key, old.e, nil)) {
			// Stored since: served as a lookup made now serves a hit (in
			// the default flow a fresh entry, in a SharedCache view one the
			// request's directives and the view's rules accept), its type
			// form checked by serve.
			if f.fresh && (st.ext == nil || v.usable(client, f.snap) && v.judge(f, rq, now).verdict == useFresh) {
				a := failAnswer{snap: f.snap, now: now, st: httpcache.Hit}
				if v.cfg.ahead > 0 {
					a.hit = &foundHit{f, rq}
				}
				return a
			}
			return failAnswer{}
		}
	case err == errVaryTooLarge:
		return failAnswer{} // a Vary stored since, which r's lookup did not meet
	case errors.Is(err, ErrNotFound):
		v.lookupFailed(client, err) // a corrupt entry, deleted, is counted
		return failAnswer{}
	default:
		v.lookupFailed(client, err)
		// (No versions to compare: only this process's own counts.)
		if old == nil || v.stale(r, m, viewResult{}, v.c.store.invalidated.Load()) {
			return failAnswer{}
		}
		f = *old
	}
	switch {
	case f.fresh: // (a clock set back): an answer all the same
	case st.ext == nil:
		if !v.pastAnswersFailure(pastFresh(f.e, f.e.clockAt(now))) {
			return failAnswer{}
		}
	case !v.usable(client, f.snap) || !v.judge(f, rq, now).answersFailure():
		return failAnswer{}
	}
	return failAnswer{snap: f.snap, now: now, st: httpcache.Stale}
}

// sameEntry reports whether a and b mark one stored entry, wherever each was
// read (a near cache, the remote store).
func sameEntry(a, b entryMark) bool {
	a.near, b.near = false, false
	return a.known && a == b
}

// pastAnswersFailure reports whether an entry past its freshness by past
// (negative when StaleIf declared a fresh one stale) answers the failure
// of a request's run in the default flow (runState.stale): within
// StaleIfError, or within StaleWhileRevalidate for a request that starts
// no refresh (refreshable).
func (v *view) pastAnswersFailure(past time.Duration) bool {
	return v.cfg.sie > 0 && past < v.cfg.sie || v.cfg.swr > 0 && past < v.cfg.swr
}

// ended answers a request whose context ended while it waited for another
// request's run (its process's flight, or another process's lease). When
// the context was cancelled (context.Canceled, as net/http does when the
// client closes its connection or the request is abandoned), nobody reads
// an answer: nothing runs, nothing is written. Any other end (a deadline:
// a timeout middleware's, http.TimeoutHandler's, a BaseContext's) leaves a
// client that is still there and is owed a response: the handler runs for
// it, with the context as it is, and answers it as it would without the
// cache (a Bypass, not stored). Writing nothing would have net/http send
// an empty 200 OK, a response the handler never makes.
func (v *view) ended(w http.ResponseWriter, r *http.Request, st *runState) {
	if clientLeft(r.Context()) {
		v.record(r, outMiss)
		return
	}
	st.call, st.down = nil, true
	v.run(w, r, st)
}

// answeredAlone reports whether the handler may answer r, a GET, with a
// response to r alone, which is never stored (Policy.Response,
// requestStatus) nor handed to the requests that wait for its run: a 206
// for its Range, a 412 for its If-Match or If-Unmodified-Since (If-Range
// with them: preconditioned), a 226 for its A-IM (RFC 3229). Such a
// request leads a flight as any (a handler that ignores those fields makes
// the 200 its waiters are answered with), but one it leads to that answer
// hands on to a new leader, which none of the waiters that ask alike
// becomes (viewResult.alone). Its handler sees those fields, as without
// the cache: a miss of a file past MaxBodySize still gets its range, not
// the whole body.
func answeredAlone(r *http.Request) bool {
	return preconditioned(r) || httpcache.HasField(r.Header, "A-Im")
}

// unsharedResult is what the waiters of st's run get when its response,
// refused for its status, answers none of them, or when failed: its handler
// failed, its client still there (a panic before its response was committed,
// or a 5xx: one that its stale entry answers, Divert, or one committed as it
// is). A leader that asked with Range or a precondition (answeredAlone) may
// have been answered, or failed, for that alone (a handler that breaks on
// it): the waiters wait for a new leader that asks as they do (retry, alone)
// rather than each run the handler, or serve their stale entries for a
// failure not theirs; where its answer was not its alone, the new leader's
// run is one that each waiter would have made
// (TestPartialLeaderErrorHandsOn). Any other's failure is the run's, which a
// waiter with a stale entry of its own answers (viewResult.failed). One
// decision for OnFail and a panic, so that a 500 and a panic hand on alike.
func unsharedResult(r *http.Request, st *runState, failed bool) viewResult {
	if st.call != nil && answeredAlone(st.client(r)) {
		return viewResult{retry: true, alone: true}
	}
	return viewResult{failed: failed}
}

// takeOver returns the new call that st's request leads when it may take
// over call, the run it gave up waiting for (viewFlight.takeOver), or nil.
// A request that may not lead a flight (joinOnly: a request handed on by a
// leader answered alone as it would be) takes none over: they would wait
// for it, and be handed on once more.
func (v *view) takeOver(st *runState, call *viewCall) *viewCall {
	if st.joinOnly {
		return nil
	}
	return v.flight.takeOver(call, v.cfg.collapse)
}

// gaveUp answers a request that waited CollapseTimeout for another
// request's run of its key (the leader of its process's flight) and may
// not take it over (viewFlight.takeOver: the run is younger, or its leader
// waits for another process's lease): the
// handler runs for it, as for a miss (MISS, counted as one), but its
// response is not stored, nor handed to anyone: the leader's run goes on,
// releases the other waiters and stores its own response as before. A
// leader slowed by something of its own (a header the key does not hold,
// its client's slow upload) so holds up the requests of its key for
// CollapseTimeout at most, as nginx's proxy_cache_lock_timeout; stored, a
// response made in parallel with it could replace a newer one.
func (v *view) gaveUp(w http.ResponseWriter, r *http.Request, st *runState) {
	v.c.stats.collapseTimeouts.Add(1)
	st.call, st.alone = nil, true
	v.run(w, r, st)
}

// clientLeft reports whether ctx, a request's context that ended, was
// cancelled without another cause: the client left, or whoever cancelled
// it wants no answer. A deadline, or a cause given with the cancellation
// (context.WithCancelCause), is not the client leaving.
func clientLeft(ctx context.Context) bool {
	return context.Cause(ctx) == context.Canceled
}

// stale reports whether res, the result of a run that began at m (a flight
// call's: runMarks), may predate a write that returned before the waiter r
// came (since: the store's count of this process's successful
// invalidations when it joined): an invalidation of this process
// succeeded after the call began and before r joined it (as
// Memoize's joiners check, doSince: the versions the run read may be none,
// the backend down as it began, and their read below fails open; a waiter
// that rejoins for an unrelated one finds the run's stored response), a
// version it was made under changed (an invalidation in another process),
// a Clear began since the call did, or the invalidation of one of r's keys
// failed since the call began, which left the versions in place (it waits
// for its retry, invalidate_retry.go). A failed invalidation of other keys
// (an outage) is none of its business: its waiters share the run.
func (v *view) stale(r *http.Request, m *runMarks, res viewResult, since uint64) bool {
	p := &v.c.store.pending
	if m.epoch < since || v.c.store.clears.Load() != m.cleared || !res.check.current(r.Context(), &v.c.store, res.vs) {
		return true
	}
	return p.adds.Load() != m.pending.adds && p.addedSince(m.pending, v.tagKeysFor(r))
}

// marks returns the store's counts now (runMarks), for a run that begins.
func (v *view) marks() runMarks {
	s := &v.c.store
	// (In this order, left to right: the retry set first.)
	return runMarks{pending: s.pending.since(), cleared: s.clears.Load(), epoch: s.invalidated.Load()}
}

// lead runs the handler for the flight call, whose waiters get its result.
func (v *view) lead(w http.ResponseWriter, r *http.Request, st *runState, call *viewCall) {
	call.runMarks = v.marks() // before anything is read
	defer v.endFlight(r, st, call)
	defer v.flight.release(call, viewResult{}) // panics and Goexit included
	if st.down {
		st.call = call
		v.run(w, r, st)
		return
	}
	if v.lease > 0 {
		// The lease's own lookups replace the one below (lease.go).
		if !v.awaitLease(w, r, st, call) {
			st.call = call
			v.run(w, r, st)
		}
		return
	}
	// A miss that became leader after the previous leader stored the
	// response finds it now: the handler runs once per stored response.
	now := v.c.clock()
	again, err := v.find(r, st.base, &now)
	if err == nil && again.fresh && v.usable(r, again.snap) {
		v.flight.release(call, again.result())
		v.serve(w, st.client(r), again.snap, now, httpcache.Hit)
		return
	}
	if again.spec != nil {
		st.f.spec = again.spec
	}
	st.call = call
	v.run(w, r, st)
}

// endFlight ends call, the flight r's run led (viewFlight.end), and deletes
// the path version keys nobody stored an entry under: those its run
// created (st.forget), and those of the runs it took over whose clients
// left. Under a lease, the flight of a run whose client left was also
// handed on to the other processes, one of which may store its entry under
// them: decided by decideHandedOn.
func (v *view) endFlight(r *http.Request, st *runState, call *viewCall) {
	keys, del, left := v.flight.end(call, st.forget)
	v.decideEnded(r, st, call, keys, del, left)
}

// waited tells the flight that r, a waiter of call, acted on its result
// (viewFlight.waited), and deletes the keys of call's run that were left
// to it, the last of its waiters, as endFlight would have.
func (v *view) waited(r *http.Request, st *runState, call *viewCall) {
	if keys, left := v.flight.waited(call); len(keys) > 0 {
		v.decideEnded(r, st, call, keys, true, left)
	}
}

// waiterRetryHook, when set, is called with the key of a call whose waiter
// was released for a retry, and the waiter's request, before it joins the
// key's next call. Nil outside tests.
var waiterRetryHook atomic.Pointer[func(key string, r *http.Request)]

// decideEnded keeps or deletes keys, path version keys the run of call
// created, as viewFlight.end decided for them (del, left). call's key, not
// st's: a waiter that rekeyed to its variant (view.miss) decides for the
// call of the key it joined first.
//
// A delete, or a lease read first, is a backend round trip: made after
// ServeHTTP returns (decideAfter).
func (v *view) decideEnded(r *http.Request, st *runState, call *viewCall, keys []string, del, left bool) {
	switch {
	case len(keys) == 0:
	case !del:
		v.c.store.keepCreated(keys)
	case left && v.lease > 0:
		v.decideAfter(r, keys, func(r *http.Request) { v.decideHandedOn(r, st, call.key, keys) })
	default:
		v.decideAfter(r, keys, func(r *http.Request) { v.c.store.forgetCreatedKeys(r.Context(), keys) })
	}
}

// maxDecisions bounds the decisions for path version keys that a Cache's
// requests hand on to goroutines of their own (view.decideAfter).
const maxDecisions = 64

// decideAfter runs decide, a decision for keys, path version keys a run
// created, that makes backend calls (a delete; under a Lease, a lease read
// or an entry check first), on a goroutine of its own with a copy of r
// (read after ServeHTTP returns) whose context is never cancelled. Over
// HTTP/1.1 net/http sends a small response only once ServeHTTP returns:
// made there, the decision held the client's complete response for a
// round trip, or Options.Timeout against a slow backend, and every request
// of a path whose responses are refused (private, a cookie, a 404) creates
// its key and deletes it. Until it is made, the runs of this process that
// read the keys' versions wait for it (decidingKeys), as they came after
// it before: one that stored its entry under a key the decision then
// deletes would be a miss. With maxDecisions already running, or once the
// Cache is closed (Close waits for those running, as for its other
// background work), it is made at once, as before; so is it on an
// in-process store, where it makes no round trip (a goroutine and a copy
// of r would cost more than the decision). A panic of the decision (a
// Backend's) is logged, as a background refresh's is, not raised on a
// goroutine that no server recovers.
func (v *view) decideAfter(r *http.Request, keys []string, decide func(r *http.Request)) {
	if v.c.store.local != nil {
		decide(r.WithContext(context.WithoutCancel(r.Context())))
		return
	}
	r = r.Clone(context.WithoutCancel(r.Context()))
	if v.c.decisions.Add(1) <= maxDecisions {
		done := v.c.store.deciding.add(keys)
		if v.c.goBackground(func() {
			defer v.c.decisions.Add(-1)
			defer done()
			defer func() {
				if p := recover(); p != nil {
					v.failOpen(r, "view path key decision", fmt.Errorf("caching: backend panic: %v", p))
				}
			}()
			decide(r)
		}) {
			return
		}
		done()
	}
	v.c.decisions.Add(-1)
	decide(r)
}

// maxRechecks bounds the background rechecks of a Cache
// (view.decideHandedOn): a scan must not start goroutines without bound.
const maxRechecks = 64

// decideHandedOn keeps or deletes keys, the path version keys that the run
// of key's call created, a run whose client left and whose lease (key's)
// was handed on to the other processes (awaitLease): kept when an entry
// (or the Vary record) is stored for r's key, or the backend could not
// tell (entryStored), else deleted. While another process holds the lease, it
// runs the handler and may store under them: the decision waits on a
// background goroutine until the lease is free (at most the lease's
// time, polled as a waiter polls it), so that a popular page's entry
// stays, and a scan of random paths whose requests hang up and are sent
// again to another process (which finds the key, so never deletes it)
// leaves no key. With maxRechecks already waiting, or once the Cache is
// closed, keys are deleted at once: the other process's entry, if it
// stores one, misses once (its version is gone; the next request makes a
// new one), never a wrong response. So does an entry of a process that
// takes the lease between the check and the delete. (A version rewritten
// with a shorter life instead would cost the same miss, as a write that
// finds less than an entry's life left renews it, and could bring back a
// version that an invalidation replaced meanwhile.)
func (v *view) decideHandedOn(r *http.Request, st *runState, key string, keys []string) {
	decide := func() { v.keepIfStored(r, st, keys) }
	lk := v.c.leaseKey(key)
	held, _, err := v.c.readLease(r.Context(), lk)
	switch {
	case err != nil:
		v.c.store.keepCreated(keys) // cannot tell: the keys expire
		return
	case !held:
		decide()
		return
	}
	r = r.Clone(r.Context()) // read after ServeHTTP returned: a copy of its own
	if v.c.rechecks.Add(1) > maxRechecks || !v.c.goBackground(func() {
		defer v.c.rechecks.Add(-1)
		if v.awaitLeaseFree(lk) {
			decide()
			return
		}
		v.c.store.keepCreated(keys) // closed, or cannot tell: the keys expire
	}) {
		v.c.rechecks.Add(-1)
		v.c.store.forgetCreatedKeys(r.Context(), keys)
	}
}

// awaitLeaseFree waits until the lease lk is no longer held, polling it as
// acquireLease's waiters do, at most the view's lease time; it reports
// false when the Cache was closed or the backend failed meanwhile.
func (v *view) awaitLeaseFree(lk string) bool {
	deadline := time.Now().Add(v.lease)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for poll := leaseFirstPoll; time.Now().Before(deadline); poll = min(2*poll, leaseMaxPoll) {
		timer.Reset(min(poll, max(time.Until(deadline), 0)))
		select {
		case <-v.c.life.Done():
			return false
		case <-timer.C:
		}
		held, _, err := v.c.readLease(v.c.life, lk)
		switch {
		case err != nil:
			return false
		case !held:
			return true
		}
	}
	return true
}

// forgetCreated deletes keys, the path version keys that the run of r
// created, a run that led no flight and stored nothing, unless another run
// may store its entry under them. A flight of its key in this process,
// whose run may have read them, decides for them as for its own when it
// ends (viewFlight.adopt); otherwise they are kept when an entry (or the
// Vary record) is stored for r's key, or the backend could not tell
// (entryStored). The flight is looked for first: one that ends meanwhile
// stored its entry before, for entryStored to find. A run of another
// process, or of another variant, that read the keys and stores after the
// check loses its entry: one miss, never a wrong response. Only runs that
// led no flight and created a key pay for the check (one read).
func (v *view) forgetCreated(r *http.Request, st *runState, keys []string) {
	if v.flight.adopt(st.f.key, keys) || st.f.key != st.base && v.flight.adopt(st.base, keys) {
		return
	}
	v.decideAfter(r, keys, func(r *http.Request) { v.keepIfStored(r, st, keys) })
}

// keepIfStored keeps keys, path version keys the run of r created, when an
// entry (or the Vary record) is stored for r's key or the backend could
// not tell (entryStored), and deletes them otherwise.
func (v *view) keepIfStored(r *http.Request, st *runState, keys []string) {
	if v.entryStored(r, st) {
		v.c.store.keepCreated(keys)
		return
	}
	v.c.store.forgetCreatedKeys(r.Context(), keys)
}

// entryStored reports whether an entry (or the Vary record) is stored for
// r's key, or the backend could not tell.
func (v *view) entryStored(r *http.Request, st *runState) bool {
	now := v.c.clock()
	f, err := v.find(r, st.base, &now)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return true
	}
	// A Vary record: a variant is stored, maybe under the keys.
	return f.snap != nil || f.spec != nil
}

// releaseIfLeft tells the waiters of call, a flight r's run leads, to elect
// a new leader as soon as r's client leaves (clientLeft), while the handler
// still runs: one that ignores its request's cancellation would otherwise
// make them wait for a run nobody gets, then for their own. The release
// hands the leader's lease on (viewCall.after), to another process's
// waiter. A context ended otherwise (a deadline) is a client still there:
// the waiters are released by the run's outcome, as before. stop ends the
// watch; it returns false once the release was started.
func (v *view) releaseIfLeft(r *http.Request, call *viewCall) (stop func() bool) {
	if call == nil {
		return func() bool { return true }
	}
	ctx := r.Context()
	return context.AfterFunc(ctx, func() {
		if clientLeft(ctx) {
			v.flight.release(call, viewResult{retry: true})
		}
	})
}

// reasonFiltered is the reason of a response that StoreIf refused.
const reasonFiltered httpcache.Reason = "filter"

// commit reports whether the run of st may write its outcome to the store
// (viewFlight.commit), and was not overrun under its lease by another
// process's write since its look, or past the lease's time by another
// process's run (newerSinceLease).
func (v *view) commit(r *http.Request, st *runState) bool {
	return v.flight.commit(st.call) && !v.newerSinceLease(r, st)
}

// reasonTakenOver is the reason of a response not stored because a waiter
// took its run's flight over (viewFlight.takeOver).
const reasonTakenOver httpcache.Reason = "taken-over"

// reasonOverrun is the reason of a response not stored because another
// process stored an entry since this run's last look under its lease (a
// RefreshIf request or Warm, or, past the lease, a run under a later lease
// that ended first: view.newerSinceLease), or another run stored since a
// background refresh began (replacedSince): its entry is under the path
// version keys this run created, kept.
const reasonOverrun httpcache.Reason = "lease-overrun"

// reasonBackend is the reason of a response not stored because the tag
// versions it would record could not be read.
const reasonBackend httpcache.Reason = "backend"

// run runs the handler through a Recorder and stores its response when it
// may be stored. It releases st.call's waiters as soon as the outcome is
// known. With a stale entry (stale-if-error), a 5xx or a panic before
// anything was sent is answered with the stale entry instead.
func (v *view) run(w http.ResponseWriter, r *http.Request, st *runState) {
	probe := v.warmProbe(r)
	if probe != nil {
		probe.runStarted() // "panic" until the handler returns
		defer probe.runEnded()
		st.background = true // a Warm request is not counted
	}
	resolved, _ := v.c.resolveTTL(st.ttl) // validated at construction
	// A Clear since the run began (since the flight it leads began) keeps
	// its response out of the store (view.store); an invalidation since
	// keeps the stale entry from answering its failure (answerFailure).
	if st.call != nil {
		st.marks = st.call.runMarks
	} else {
		st.marks = v.marks()
	}
	st.cleared = st.marks.cleared
	st.answer = nil // (a run again: see committed)
	// The versions the entry will record are read before the handler runs:
	// an invalidation while it runs makes the entry a miss.
	var (
		vs   versionSet
		verr error
	)
	if !st.down && !st.alone { // neither stores: no versions to record
		ctx, cancel := v.c.store.bound(r.Context())
		vs, verr = v.c.store.versions(ctx, v.tagKeysFor(r), v.life(resolved))
		cancel()
		if verr != nil {
			if !callerEnded(r.Context(), verr) {
				v.failOpen(r, "view tag versions", verr)
			} // else the client left: not the backend's error (see store.report)
			vs = versionSet{} // not read: nothing to store or check under
			st.unread = true
		}
		// Tracked until the run (or its flight) decides for them: a save
		// of another request under them keeps them (createdKeys).
		v.c.store.created.track(vs.created)
	}
	// A path version key this run created is deleted again if the
	// response is not stored, whatever kept it out (a 404 for a path asked
	// for once; a 200 that is private, sets a cookie, or is too large): a
	// scan of random paths leaves no key behind. It is kept (keepPath) when
	// the run stored its response, revalidated or served the stored entry,
	// or was refused because MaxVariants other variants are stored, maybe
	// under the key. Last, after the client has the response. The run of a flight leaves that to the flight's
	// end (view.endFlight), which keeps the key when the run's client
	// left and the run that took its flight over stored its entry under
	// it meanwhile. A run that leads no flight (Authorization in a
	// SharedCache view, a request's no-store) hands it to the flight of
	// its key in progress, which may have read it, or keeps it when an
	// entry was stored for its key (forgetCreated). A request of the
	// path that stored its entry under the key meanwhile in this process
	// (another query string or variant, a request that joins no flight, a
	// background refresh) keeps it (createdKeys); one of another process
	// that stores under it before the delete loses its entry: a miss,
	// never a wrong response (the version key's value cannot be compared
	// and deleted at once on every backend).
	keepPath := false
	defer func() {
		switch {
		case len(vs.created) == 0:
		case keepPath:
			v.c.store.keepCreated(vs.created)
		case st.call != nil:
			st.forget = vs.created
		default:
			v.forgetCreated(r, st, vs.created)
		}
	}()
	// Without the backend, the response is served, and handed to the
	// requests that waited for it, but not stored. That of a request that
	// gave up waiting for another's run (alone) is served only.
	noStore := st.down || st.unread || st.alone
	st.committed = 0 // (a run again after a 304 that validated nothing)
	var storeTTL time.Duration
	var varyRefused []string // the Vary names the response was refused for at commit
	rec := &httpcache.Recorder{
		Limit:        v.cfg.maxBody,
		StatusHeader: v.cfg.statusHeader,
		// The handler's run never waits for its client: a client that
		// does not read would hold up the requests waiting for it.
		Hold: true,
		// Told before any refusal at commit, the Recorder's own ahead of
		// Check (a Trailer, an event stream with StoreFlushed) included:
		// a 5xx that any of them refuses is the run's failure (OnFail).
		Committing: &st.committed,
		Check: func(status int, h http.Header) httpcache.Reason {
			if requestStatus(status) {
				return httpcache.ReasonStatus
			}
			if partBody(status, h) {
				return httpcache.ReasonPartial
			}
			var reason httpcache.Reason
			storeTTL, reason = v.policy.Response(status, h, resolved)
			return reason
		},
		OnFail: func(reason httpcache.Reason) {
			if varyRefused != nil {
				// Refused at commit for its Vary (below): the waiters of
				// other variants rekey to their own, as they would have
				// once told the response varies (viewFlight.varies).
				v.flight.release(st.call, viewResult{names: varyRefused, other: true})
				return
			}
			// A failed write is the client leaving: the waiters wait for a
			// new leader rather than all running the handler. So does a
			// response refused after the client left (a flush, a panic or
			// an abort of a body cut short), whether or not releaseIfLeft,
			// whose release runs on a goroutine of its own, came first:
			// told to run on their own, the waiters would each run the
			// handler, outside any flight.
			left := clientLeft(r.Context())
			res := viewResult{retry: reason == httpcache.ReasonWriteError}
			// A 5xx, whether the stale entry answers it (Divert) or it
			// went to its client as it is (no stale entry of its own), is
			// the run's failure while its client is there, as a panic is.
			failed := !left && (reason == httpcache.ReasonDiverted ||
				reason != httpcache.ReasonWriteError && serverFailure(st.committed))
			switch {
			case failed, reason == httpcache.ReasonStatus, reason == httpcache.ReasonPartial:
				// Refused for its status (a 206, 412 or 226 that may
				// answer its client alone), or failed: see unsharedResult.
				res = unsharedResult(r, st, failed)
			}
			res.retry = res.retry || left
			v.flight.release(st.call, res)
		},
	}
	// Fields set before the handler ran (by outer middleware) are not the
	// handler's response: they are left out of the entry unless it changed
	// them, and recorded as deleted when it deleted them.
	var before http.Header
	if pre := w.Header(); len(pre) > 0 || st.stale != nil || st.ext != nil && st.ext.prev != nil {
		before = pre.Clone()
		// The recorder canonicalizes the header's keys at commit: compare
		// with what the outer middleware set under the same spellings.
		header.Canonicalize(before)
	}
	if st.stale != nil {
		rec.Divert = serverFailure
		if !st.background {
			// Diverted only where something answers the failure as it
			// comes (answerFailure); else the 5xx goes to the client as
			// the handler made it, as without the stale entry.
			rec.Divert = func(code int) bool {
				return serverFailure(code) && v.answerFailure(r, st, before).snap != nil
			}
		}
	}
	if st.ext != nil {
		// Without the backend (the lookup or the versions failed), nothing
		// is stored, but the response is still judged as with the backend
		// up: one that may be stored is handed to the waiters (not
		// stored), one refused for what it is (private, Set-Cookie) is not,
		// and a 304 vouches for the entry it revalidates for its client only.
		// This is not the request's no-store, which refuses the response
		// for everyone.
		st.ext.unread = noStore
		v.prepareRun(st, rec)
	}
	// Reported once: at once, or where the stale entry may answer a
	// failure or a 304 freshen the entry, as the handler's status passes
	// (runReport). A background run has no client to report to.
	rp := &st.report
	rp.restart(r, st.outcome().status(), st.background)
	rp.watch(rec, st.stale != nil || st.ext != nil && st.ext.prev != nil)
	if x := st.ext; x != nil && v.sh != nil {
		// Hit-for-pass: a response refused for what it is (private,
		// no-store, too large, a status not stored) marks its key, so that
		// the next misses with the client's validators pass them on
		// (runExt). Told at the refusal itself: a 304 made of it ends a
		// proxy's run with a panic (below), before Finish. Judged with the
		// status the response committed with (st.committed, which OnFail
		// comes after), whichever refused it: Check, or the recorder's own
		// refusals ahead of it (a Trailer, an event stream), which Check
		// never sees. One refused before it committed (its handler
		// reached past the recorder first) has no status yet, and marks
		// nothing.
		mark := func() {
			// Only a run that may store marks the key: not one that gave up
			// waiting (alone), nor one taken over (superseded), which store
			// nothing, the run they left deciding; marked by them, the
			// key's conditional misses would pass their validators for
			// passFor while another's response is stored.
			if !st.alone && !v.flight.superseded(st.call) {
				v.passed.mark(st.f.key, v.c.clock())
			}
		}
		check, onFail := rec.Check, rec.OnFail
		rec.Check = func(code int, h http.Header) httpcache.Reason {
			reason := check(code, h)
			if code == http.StatusNotModified && st.passValidators {
				// The origin's own 304 (hit-for-pass) renews the mark
				// when its header says the 200 it stands for would be
				// refused too (private, no-store); one that says
				// nothing, or that it may be stored, leaves the mark to
				// lapse, and the next revalidation runs for a full
				// response again (a size past MaxBodySize only a 200
				// tells).
				if _, r200 := x.rules.Response(x.client, http.StatusOK, h, x.reqTime, x.respTime); r200 != httpcache.ReasonNoFreshness &&
					refusedForItself(x, http.StatusOK, r200) {
					mark()
				}
			}
			return reason
		}
		rec.OnFail = func(reason httpcache.Reason) {
			// A part (a 200 with Content-Range) is its request's alone,
			// whatever refused it: Check refuses it as such, the recorder's
			// own refusals at commit do not (the header is the one
			// committed, canonical: OnFail comes at the refusal).
			if refusedForItself(x, st.committed, reason) && !partBody(st.committed, rec.Header()) {
				mark()
			}
			onFail(reason)
		}
	}
	if call := st.call; call != nil {
		// The waiters of another variant leave as soon as the header tells
		// that the response varies (viewCall.wait). In a SharedCache view,
		// all of them leave as soon as it tells that the response may not
		// answer them without being revalidated (no-cache, max-age=0,
		// stale on arrival): stored, it still answers its own request
		// only, as each waiter's own run answers it (Varnish's
		// hit-for-miss), and a stream that says so (no-cache NDJSON)
		// holds none of them until it ends.
		check := rec.Check
		rec.Check = func(status int, h http.Header) httpcache.Reason {
			reason := check(status, h)
			if reason != httpcache.ReasonNone {
				return reason
			}
			if x := st.ext; v.sh != nil && x != nil && !x.fr.Reusable() {
				v.flight.release(call, viewResult{})
				if !v.flight.superseded(call) { // the new leader's run decides
					v.solo.mark(st.f.key, v.c.clock())
				}
			} else if names := varyNames(h); len(names) > 0 {
				variant := "" // no waiter's: see ofVariant
				if !httpcache.VaryTooLarge(r, names) {
					variant = httpcache.VariantKey(r, names)
				}
				v.flight.varies(call, names, variant)
			}
			return reason
		}
	}
	// A response whose Vary alone keeps it out of the store (varyRefusal)
	// is refused as soon as its header is committed: its body goes to the
	// client as the handler writes it, never held up to MaxBodySize to be
	// refused at the end (a request whose fields a Vary names pass
	// MaxVaryBytes, the Vary record not yet known to the lookup).
	check := rec.Check
	rec.Check = func(status int, h http.Header) httpcache.Reason {
		if reason := check(status, h); reason != httpcache.ReasonNone {
			return reason
		}
		names := varyNames(h)
		reason := varyRefusal(r, names)
		if reason != httpcache.ReasonNone {
			varyRefused = names
		}
		return reason
	}
	if (st.down || st.unread) && rec.StatusHeader != "" {
		// Known before the handler runs: not stored, for want of the
		// backend (a request that gave up waiting is a miss: the
		// recorder says MISS, or BYPASS for a response refused).
		rec.StatusHeader = ""
		w.Header()[v.cfg.statusHeader] = httpcache.Bypass.Values()
	}
	below := w
	var cond *conditional.Writer
	if c := st.client(r); !st.background && conditional.Request(c) {
		// The handler runs without the client's validators (below), for
		// a full response to store and to hand to the waiters. A response
		// refused at commit (private, no-store, a Content-Length past
		// MaxBodySize, a Vary refused, a request's no-store) is neither:
		// the client that holds it gets a 304 made from it, at once, and
		// the handler's body writes fail from then on (a large file is
		// not read to the end for nothing), where the origin alone would
		// have answered 304. Any other 200 reaches the client whole, as
		// before: the middleware outside the view must see the 200 the
		// view may store, since the fields it adds to a 2xx (Vary:
		// Cookie, Set-Cookie, private) are judged for storing it; made a
		// 304, it adds none, and one client's page would answer another.
		// The hits answer the validators from the entry. Released after
		// Send, which forwards what the recorder held.
		var cw http.ResponseWriter
		cond, cw = conditional.Get(w, c)
		defer cond.Release()
		cond.Only = func() bool { return rec.Reason() != httpcache.ReasonNone }
		below = cw
	}
	rw := rec.Reset(below)
	// What the recorder held reaches the client last: after the response
	// is stored and handed to the waiters (all but its first bytes, which
	// Finish writes below first, so that a writer outside the view that
	// commits at its first Write adds its fields before they are judged).
	defer rec.Send()
	returned, finished := false, false
	defer func() {
		// As Finish does: a writer the handler kept is inert, whatever
		// ended the run (a panic of Finish's own writes below included).
		rec.Detach()
		if finished {
			return
		}
		p := recover()
		if returned {
			// Finish panicked (or called runtime.Goexit): a writer
			// outside the view broke as the response reached it. The
			// request counts once, and the waiters, as when the client
			// left, wait for a new leader rather than each run the
			// handler on its own; the panic goes on.
			v.flight.release(st.call, viewResult{retry: true})
			rp.report()
			v.count(r, st, st.outcome())
			if p != nil {
				panic(p)
			}
			return
		}
		if p != nil {
			if rec.PanickedBelow() {
				// The writer outside the view broke as the handler's
				// write reached it (one that panics as the status is
				// committed below, at its first write), not the
				// handler: as when Finish panics (above), the waiters
				// wait for a new leader rather than each run the
				// handler on its own.
				v.flight.release(st.call, viewResult{retry: true})
			} else if p != http.ErrAbortHandler && (rec.Diverted() != 0 || !rec.Committed()) && !clientLeft(r.Context()) {
				// The handler failed before its response was committed,
				// where a stale entry answers its request (below), as
				// for its 500 (OnFail): see unsharedResult.
				v.flight.release(st.call, unsharedResult(r, st, true))
			}
			failUnderPanic(rec)
		} else {
			rec.Fail(httpcache.ReasonPanic)
		}
		if p == nil {
			rp.report()
			v.count(r, st, st.outcome())
			return // runtime.Goexit: let it go on
		}
		// A background refresh has no client to answer: its panic, which
		// stores nothing, goes on to refreshInBackground's log.
		if st.stale != nil && !st.background && p != http.ErrAbortHandler && (rec.Diverted() != 0 || !rec.Committed()) {
			if a := v.answerFailure(r, st, before); a.snap != nil {
				v.failOpen(r, "view handler panicked, served "+strings.ToLower(a.st.String()), fmt.Errorf("caching: handler panic: %v", p))
				v.serveInstead(w, st.client(r), st, *a, before, rp)
				return
			}
		}
		rp.report()
		v.count(r, st, st.outcome())
		if cond != nil && cond.NotModified() {
			// The 304 made of a refused response went out whole, and the
			// write that failed after it (by design: see above) is what
			// httputil.ReverseProxy aborts on, and a handler that takes a
			// failed write for fatal panics on. Re-raised, the panic would
			// reset an HTTP/2 stream whose 304 the client already had (and
			// close an HTTP/1.1 connection): the request ends normally,
			// and a panic other than the abort is logged.
			if p != http.ErrAbortHandler {
				v.failOpen(r, "view handler panicked after its 304 was sent", fmt.Errorf("caching: handler panic: %v", p))
			}
			return
		}
		// http.ErrAbortHandler included, even where the view gave the
		// request its ServerContextKey (withServer): a proxy's abort of a
		// body the origin broke off and a handler's own look alike, and
		// neither is a complete response to hand on as one.
		panic(p)
	}()
	// The cache's own conditional request, or the client's without its
	// validators, less the query parameters the key leaves out.
	hr := v.keyedRequest(r)
	switch {
	case st.passValidators:
		// Hit-for-pass (runExt): the client's own request, validators and
		// all, keyed as any other.
		hr = v.keyedRequest(st.client(r))
	case st.ext == nil || st.ext.prev == nil:
		hr = withoutValidators(hr)
	}
	if ctx, added := withServer(hr.Context()); added {
		hr = hr.WithContext(ctx)
	}
	stop := v.releaseIfLeft(r, st.call)
	defer stop() // a panic included
	// From now on, a waiter that gives up may take the flight over.
	v.flight.handling(st.call)
	v.next.ServeHTTP(rw, hr)
	returned = true
	// Once the handler has returned, the run's own outcome releases the
	// waiters. When the client left before, they were released then, and
	// r's context has ended: what the handler made is neither stored nor
	// handed on (below).
	stop()
	if c := st.client(r); c != hr && !st.background {
		// A ServeMux below the view records its pattern on the request
		// it serves, a copy: the client's request gets it as it would
		// have without the copy (timing's Report.Route, outer logs).
		c.Pattern = hr.Pattern
	}
	status, h, body, reason := rec.Finish()
	finished = true
	if rec.Diverted() == 0 {
		rp.report() // a hijacked connection's: no status was written
	}
	if probe != nil {
		defer func() { probe.ran(status, reason) }()
	}
	if rec.Diverted() == http.StatusNotModified && st.ext != nil && st.ext.prev != nil {
		keepPath = true
		v.notModified(w, r, st, h, before, vs, rp)
		return
	}
	if rec.Diverted() != 0 {
		keepPath = true
		// A failure in place of which the stale entry answers; a
		// background refresh, which has no client, leaves it stored.
		if !st.background {
			v.serveInstead(w, st.client(r), st, *v.answerFailure(r, st, before), before, rp)
		}
		return
	}
	v.count(r, st, st.outcome())
	if reason == httpcache.ReasonNone && r.Context().Err() != nil {
		// Produced after the client left (or the request was cancelled): the
		// handler may have answered with a fallback. Never stored, never
		// handed to the waiters, which wait for a new leader.
		v.flight.release(st.call, viewResult{retry: true})
		reason = reasonCanceled
		return
	}
	if x := st.ext; x != nil && x.date != nil {
		// Sent with the Date a SharedCache view gave it (prepareRun), in
		// place of none or of one that does not parse, which the recorder
		// left out of its copy: stored with it too.
		h["Date"] = x.date
	}
	if reason == httpcache.ReasonNone && v.storeIf != nil && !v.storeIf(&Response{Status: status, Header: h, Body: body}) {
		reason = reasonFiltered
	}
	if reason != httpcache.ReasonNone {
		v.dropReplaced(r, st, status, h, reason)
		v.flight.release(st.call, viewResult{retry: clientLeft(r.Context())}) // as OnFail
		return
	}
	// The Vary names are read before the fields an outer middleware set are
	// left out: its Vary (an i18n middleware's Accept-Language, say) tells
	// what the response it hands the handler depends on.
	// (Refused at commit already, unless the fields changed at Finish.)
	names := varyNames(h)
	if reason = varyRefusal(r, names); reason != httpcache.ReasonNone {
		v.dropReplaced(r, st, status, h, reason)
		v.flight.release(st.call, viewResult{})
		return
	}
	v.downVary.note(st.base, names)
	if st.alone {
		return // served only: the run it waited for stores, and answers the others
	}
	deleted := v.deletedFields(h, before)
	outer := v.outerDirectives(h, before)
	// Read before the outer fields are left out: where the client got a
	// type or tag, the outer middleware's, the entry must not store one
	// in its place (httpcache.Sent).
	// A nil-valued type counts as one: net/http sends none and sniffs
	// none.
	_, typed := h["Content-Type"]
	sent := httpcache.Sent{Type: typed, ETag: len(h["Etag"]) > 0}
	// Whether the writer had a type as the handler began: where it had
	// one, http.ServeContent and package compress set none of theirs (see
	// httpcache.Snapshot.OtherTypeForm).
	ct, outerTyped := before["Content-Type"]
	for k, vs := range before {
		if len(h[k]) > 0 && slices.Equal(h[k], vs) && !v.keepsOuter(k) {
			delete(h, k)
		}
	}
	if hv, ok := h["Content-Type"]; outerTyped && ok && len(ct) == 0 && len(hv) == 0 {
		// The outer middleware's nil-valued type (it has net/http sniff
		// none), left by the handler: not the handler's, as a type with a
		// value is not.
		delete(h, "Content-Type")
	}
	if cap(body)-len(body) > 64+len(body)/8 {
		// The recorder grew the buffer by doubling: keep what is used.
		body = slices.Clone(body)
	}
	now := v.c.clock()
	snap := v.newSnapshot(st, status, h, body, now, sent)
	if rec.TransferCoded() {
		snap.SetTransferCoded()
	} else if rec.TypeSniffed() {
		snap.SetSniffed() // net/http's at the first flush, not the handler's
	}
	if deleted != nil {
		snap.SetDeleted(deleted)
	}
	if outer != nil {
		snap.SetOuterDirectives(outer)
	}
	if outerTyped {
		snap.SetOuterTyped()
	}
	res := viewResult{snap: snap, names: names, vs: vs, check: new(versionCheck)}
	if len(res.names) > 0 {
		res.variant = httpcache.VariantKey(r, res.names)
	}
	if st.ext != nil && v.sh != nil {
		res.expires = addNanos(st.ext.birth.UnixNano(), st.ext.fr.Lifetime)
	}
	if noStore {
		reason = reasonBackend
		if codingRefused(r, res) {
			// As storeNow: the waiters keyed alike may not accept it.
			v.flight.release(st.call, viewResult{})
			return
		}
		res.unstored, res.bypass = true, true
		v.flight.release(st.call, res) // the waiters' identical requests get it
		return
	}
	if reason = v.store(r, st, res, storeTTL, now, vs); reason != httpcache.ReasonNone {
		keepPath = reason == reasonVariants || reason == reasonOverrun
		switch reason {
		case reasonBackend, reasonVariants, reasonCleared:
			// Not stored, still theirs: the response is valid for the
			// waiters whose variant it is (a full Vary record is known
			// only now, once the body is complete; without it they would
			// each run the handler after the whole run). The waiters check
			// their variant and usable as for a stored response. After a
			// Clear, they wait for a new run instead (view.stale).
			res.unstored = true
			v.flight.release(st.call, res)
		case reasonOverrun:
			// Another process stored a response since this run's look
			// under its lease (a newer one, or, past the lease, that of
			// a run under a later lease that ended first): the waiters
			// join again, and the one that leads finds it (awaitLease),
			// rather than each run the handler again.
			v.flight.release(st.call, viewResult{retry: true})
		default:
			v.flight.release(st.call, viewResult{})
		}
		return
	}
	keepPath = true
	v.passed.forget(st.f.key) // storable after all: see runExt
	v.flight.release(st.call, res)
}

// deletedFields returns the names of the fields an outer middleware set
// before the handler ran (before, keys canonical) that h, the header of the
// handler's response, no longer has: the handler deleted them, and the
// entry records it (httpcache.Snapshot.Deleted), so that a hit deletes them
// again from what the outer middleware sets on every request
// (X-Frame-Options, which an embeddable page drops). The status header and
// Age are not among them: a hit sets them. Nil when there are none.
func (v *view) deletedFields(h, before http.Header) []string {
	var deleted []string
	for k, vs := range before {
		if len(vs) > 0 && len(h[k]) == 0 && k != v.cfg.statusHeader && k != "Age" {
			deleted = append(deleted, k)
		}
	}
	return deleted
}

// outerDirectives returns the fields of h, the header of the handler's
// response, that an outer middleware set before the handler ran (before,
// keys canonical) and the handler left as they were, among those that
// decide, once the response is stored, what it may do: in a SharedCache
// view Cache-Control, Expires and the targeted field (Cache-Control alone
// with HonorRequestCacheControl only). They took part in judging the
// response, but are not stored with it (a hit sends what the outer
// middleware sets on its own request): the entry records them
// (httpcache.Snapshot.OuterDirectives), so that the decisions that read
// the stored directives again (judge, usable, the freshening of a 304)
// read what the response was judged by. Nil when there are none, as for
// nearly every response, or the view has neither option.
func (v *view) outerDirectives(h, before http.Header) http.Header {
	if len(before) == 0 || v.sh == nil && !v.cfg.honorRequest {
		return nil
	}
	names := [...]string{"Cache-Control", "Expires", v.cfg.targeted}
	n := len(names)
	if v.sh == nil {
		n = 1
	}
	var out http.Header
	for _, name := range names[:n] {
		if vs := h[name]; name != "" && len(vs) > 0 && slices.Equal(vs, before[name]) {
			if out == nil {
				out = make(http.Header, n)
			}
			out[name] = vs
		}
	}
	return out
}

// varyNames returns the names a response with header h is keyed by, as
// ParseVary returns them, with Accept-Encoding added when codedWithoutVary:
// a coded response that does not say it varies on Accept-Encoding (nginx's
// gzip without gzip_vary, a handler that gzips itself) is keyed as if it
// did: stored for every client, it would reach one that refuses its
// coding, which the handler never sends it.
func varyNames(h http.Header) []string {
	names, _ := httpcache.ParseVary(h)
	if codedWithoutVary(h, names) {
		names = append(names, "Accept-Encoding")
		slices.Sort(names)
	}
	return names
}

// varyRefusal returns why a response that varies on names (varyNames) is
// neither stored nor handed to the waiters of its run for r, as its header
// alone tells; "" when it may be. It allocates nothing.
func varyRefusal(r *http.Request, names []string) httpcache.Reason {
	switch {
	case len(names) > maxSpecNames:
		return reasonVaryNames // more headers than a Vary record holds
	case httpcache.VariesOnClientAddress(names):
		// Made for this client's address, which a proxy below may have
		// sent where the request's own field says nothing of it.
		return reasonVaryClient
	case httpcache.VaryTooLarge(r, names):
		// Keyed by more than MaxVaryBytes of this request's fields: a
		// variant no browser asks for, whose key would cost as much.
		return reasonVaryLarge
	}
	return httpcache.ReasonNone
}

// codedWithoutVary reports whether h, with the Vary names names, has a
// Content-Encoding other than identity and does not vary on
// Accept-Encoding.
func codedWithoutVary(h http.Header, names []string) bool {
	for _, ce := range h["Content-Encoding"] {
		if ce = strings.TrimSpace(ce); ce != "" && !strings.EqualFold(ce, "identity") {
			return !slices.Contains(names, "Accept-Encoding")
		}
	}
	return false
}

// withoutValidators returns r without If-None-Match and If-Modified-Since
// (a shallow copy; r itself is left alone), or r when it has neither: the
// handler of a miss must make the full response, which is stored and from
// which hits answer the validators, not a 304 (a middleware such as
// compress's would make one) that is neither stored nor useful to the
// next client. Their spellings with '_' go too ("If_None_Match", which a
// CGI-style handler reads as If-None-Match: see httpcache.HasField).
// Range, If-Range, If-Match, If-Unmodified-Since and A-IM stay: what the
// handler answers to them alone is a status never stored (206, 412, 416,
// 226: Policy.Response, requestStatus), and a 200 it makes despite them is
// the plain request's; stripped, a file past MaxBodySize would be sent
// whole to a client that asked for a range of it (see answeredAlone).
func withoutValidators(r *http.Request) *http.Request {
	if !httpcache.HasField(r.Header, "If-None-Match") && !httpcache.HasField(r.Header, "If-Modified-Since") {
		return r
	}
	r2 := new(http.Request)
	*r2 = *r
	r2.Header = r.Header.Clone()
	httpcache.DeleteField(r2.Header, "If-None-Match")
	httpcache.DeleteField(r2.Header, "If-Modified-Since")
	return r2
}

// count records a run's outcome, unless it is a background refresh.
func (v *view) count(r *http.Request, st *runState, o outcome) {
	if !st.background {
		v.record(r, o)
	}
}

// lifeOf is how long an entry written for ttl (as resolved: 0 is forever)
// is kept, its stale window included.
func lifeOf(ttl, extra time.Duration) time.Duration {
	if ttl <= 0 {
		return 0
	}
	if ttl > Forever-extra {
		return Forever
	}
	return ttl + extra
}

// serveInstead answers with a, a stored entry, in place of the failed
// response of st's run (a GET's or a HEAD's), with the header as it was
// before the handler ran.
func (v *view) serveInstead(w http.ResponseWriter, r *http.Request, st *runState, a failAnswer, before http.Header, rp *runReport) {
	restoreHeader(w.Header(), before)
	v.refreshAnswered(w, r, st, a)
	v.serveFor(rp, w, r, a.snap, a.now, a.st)
}

// answerFailure returns what answers the failure of st's run of r (a 5xx,
// or a panic before its response was committed) in place of its response,
// judged once, as the failure comes, as its waiters judge theirs
// (failedAnswer): st.stale where it still answers it, or a newer fresh
// entry; one of another type form than the writer's header as the run
// began (before) answers it not (the handler that ran is none to run
// again).
func (v *view) answerFailure(r *http.Request, st *runState, before http.Header) *failAnswer {
	if st.answer == nil {
		a := v.failedAnswer(r, st, &st.marks)
		if a.st != httpcache.Stale && a.snap != nil && a.snap.OtherTypeForm(before) {
			a = failAnswer{}
		}
		st.answer = &a
	}
	return st.answer
}

// store writes a response: under the base key when it has no Vary, else the
// Vary record under the base key and the snapshot under its variant's key.
// It returns why the response was not stored ("" when it was): a variant
// past MaxVariants is not, nor one whose backend write failed, nor one
// whose run began before a Clear (made from data that may predate it), nor
// one that no request can ever be served (dead): that one only deletes the
// entry it supersedes (dropSuperseded).
func (v *view) store(r *http.Request, st *runState, res viewResult, ttl time.Duration, now time.Time, vs versionSet) httpcache.Reason {
	if !v.flight.commit(st.call) {
		// Taken over by a waiter that gave up on it (viewFlight.takeOver):
		// the newer run's response is stored, and this older one must not
		// replace it, nor delete it.
		return reasonTakenOver
	}
	if v.newerSinceLease(r, st) || st.refresh != nil && v.replacedSince(r, st.f.key, st.refresh.replaces) {
		// As taken over: by another process's write since this run's look
		// under its lease (past that lease, the write of a run under a
		// later lease that ended first), or, for a background refresh, by
		// any run that stored since the refresh began (one that outlasted
		// the entry's stale window, and the miss that came then stored a
		// newer response).
		st.renewed = st.background
		return reasonOverrun
	}
	reason := reasonCleared
	// OnEvict is told of the store's evictions once unlessCleared has
	// released the lock a Clear waits for: an OnEvict that clears the
	// Cache would wait for this goroutine.
	notifyAfter(func(evicted *simple.Evictions) {
		v.c.store.unlessCleared(st.cleared, func() { reason = v.storeNow(r, st, res, ttl, now, vs, evicted) })
	})
	st.renewed = st.background && reason == httpcache.ReasonNone
	return reason
}

// storeNow is store, once it is known that no Clear began since the run;
// the evictions of its entry's store are put in evicted (saveDeferred).
func (v *view) storeNow(r *http.Request, st *runState, res viewResult, ttl time.Duration, now time.Time, vs versionSet, evicted *simple.Evictions) httpcache.Reason {
	// The response is sent; the client leaving must not cancel the write.
	ctx, cancel := v.c.store.bound(context.WithoutCancel(r.Context()))
	defer cancel()
	key := st.base
	if len(res.names) > 0 {
		if codingRefused(r, res) {
			return reasonCoding
		}
		key = v.c.variants.key(st.base, res.variant, res.names)
	}
	e := v.entryFor(st, res.snap, now, ttl)
	if len(res.names) > 0 {
		v.boundVariant(e, now)
	}
	if dead(e, now) {
		if v.deadMayDrop(r, st, res.snap) {
			v.dropSuperseded(ctx, r, st, key, res.names, res.snap.Status, now)
		}
		return reasonExpired
	}
	if len(res.names) > 0 {
		if reason := v.recordVariant(ctx, r, st, res, e.StaleUntil, now, vs, evicted); reason != httpcache.ReasonNone {
			return reason
		}
	}
	v.c.store.setEncoder(e, res.snap)
	if err := v.c.store.saveDeferred(ctx, key, e, vs, evicted); err != nil {
		v.failOpen(r, "view store", err)
		return reasonBackend
	}
	return httpcache.ReasonNone
}

// failUnderPanic is rec.Fail for a handler that panicked: a panic of a
// write below that Fail raises (one the recorder's flush goroutine met,
// raised on the handler's goroutine) is dropped, so that the handler's own
// goes on and the rest of the view's recovery runs (the request counted,
// the stale entry served).
func failUnderPanic(rec *httpcache.Recorder) {
	defer func() { _ = recover() }()
	rec.Fail(httpcache.ReasonPanic)
}

// requestStatus reports whether status answers fields of the request (or
// of its connection) that no key holds rather than its URL, so that it is
// never stored, whatever StoreStatuses lists, nor served from the store
// (findIn: an entry an earlier version stored with it is a miss): 226 (the
// instance manipulations an A-IM asked for), 406 (no representation for
// the request's Accept fields: the view cannot tell which of them a
// handler negotiated on, whatever its Vary says), 408 (a request not read
// in time), 412 (a precondition, If-Match or If-Unmodified-Since,
// evaluated to false), 416 (a Range past the end), 417 (an Expect), 421
// (a connection for another authority), 425 (a request in TLS early
// data), 429 (a per-client rate limit) and 431 (one request's header past
// a limit). Stored, one request with If-Match: "x", or of one client over
// its rate, would answer every request of the key with its error until it
// expired. Each is a 4xx that a SharedCache view never stores either
// (httpcache.UnsharedStatus). Two comparisons for a status below 400:
// the hit path asks it.
func requestStatus(status int) bool {
	return uint(status-400) < 32 && requestStatuses>>uint(status-400)&1 != 0 || status == http.StatusIMUsed
}

// partBody reports whether a response with status and header h holds a
// part of the representation whatever its status says: a Content-Range on
// a 200 that a handler answered a Range with. Stored, it would answer
// plain requests with that part; it is its request's alone, as a 206 is.
// A 304's Content-Range is left to the update of the entry, which never
// takes it (httpcache.Snapshot.Freshen).
func partBody(status int, h http.Header) bool {
	return status != http.StatusNotModified && len(h["Content-Range"]) > 0
}

// requestStatuses holds the 4xx of requestStatus, bit status-400.
const requestStatuses uint32 = 1<<(http.StatusNotAcceptable-400) | 1<<(http.StatusRequestTimeout-400) |
	1<<(http.StatusPreconditionFailed-400) | 1<<(http.StatusRequestedRangeNotSatisfiable-400) |
	1<<(http.StatusExpectationFailed-400) | 1<<(http.StatusMisdirectedRequest-400) |
	1<<(http.StatusTooEarly-400) | 1<<(http.StatusTooManyRequests-400) |
	1<<(http.StatusRequestHeaderFieldsTooLarge-400)

// codingRefused reports whether res varies on Accept-Encoding and has a
// coding that r's Accept-Encoding does not accept, by the grammar its
// variant key was built with: another negotiator's choice (a handler that
// gzips for "identity, gzip;q=0") must not reach the requests keyed alike
// ("identity"), neither stored nor handed to the waiters of its run.
func codingRefused(r *http.Request, res viewResult) bool {
	return slices.Contains(res.names, "Accept-Encoding") &&
		!header.Acceptable(r.Header["Accept-Encoding"], res.snap.Header["Content-Encoding"])
}

// deadMayDrop reports whether a response that is not written (dead) may
// delete what it supersedes (dropSuperseded), as a refused one may drop
// the entry it replaces (dropReplaced): when its status is the resource's
// (a 2xx or 3xx but a 206 or 304, a 404, a 410; not the answer to the
// client's own Range or precondition), and it is not one user's answer
// (mayDrop). An error a client gets for its own request (a 406 for a
// language the page lacks, a rate limiter's 429, a 503 while the origin
// struggles), often sent with no-cache, must not empty the page for
// everyone.
func (v *view) deadMayDrop(r *http.Request, st *runState, snap *httpcache.Snapshot) bool {
	x := st.ext
	switch status := snap.Status; {
	case x == nil:
		return false // dead only in a SharedCache view (entryFor)
	case x.precondition && status != http.StatusOK:
		return false
	case status == http.StatusNotFound || status == http.StatusGone:
	case status < 200 || status >= 400 || status == http.StatusPartialContent || status == http.StatusNotModified:
		return false
	}
	f := &st.f
	if x.replaces != nil {
		f = x.replaces
	}
	return v.mayDrop(r, x, f, snap.Header)
}

// dropSuperseded deletes what a response that is not written (dead)
// supersedes: what writing it would have replaced, but never what other
// clients are served for their own requests. An answer for a variant
// nothing was stored for (a locale redirect for a language the page lacks,
// a CORS layer's Vary: Origin) is that client's: the others' variants keep
// the freshness they were given (RFC 9111 invalidates on unsafe methods
// only). So it deletes, where the run's lookup found its own entry, that
// entry (or the one the run was to replace), key (the response's own: base
// or its variant's key), and base's Vary record when the response's names
// differ from it. A run that made no lookup (RefreshIf, Warm) deletes key
// and reads base: an entry without Vary goes; a record of other names goes,
// with this client's variant under them, only where the record lists that
// variant and it is stored. When the lookup found nothing, nothing is deleted: the common
// case (a max-age=0 page) costs no round trip. What it deletes goes for the
// other type form's requests too (otherFormKeys).
func (v *view) dropSuperseded(ctx context.Context, r *http.Request, st *runState, key string, names []string, status int, now time.Time) {
	var keys []string
	add := func(k string) {
		if k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if x := st.ext; x != nil && x.replaces != nil {
		add(x.replaces.key)
	} else if st.f.e != nil {
		add(st.f.key)
	}
	foundOwn := len(keys) > 0
	if foundOwn || st.blind && key != st.base { // a blind run's base: below
		add(key)
	}
	switch spec := st.f.spec; {
	case st.blind:
		// No lookup was made: read base. An entry without Vary goes (the
		// write would have replaced it); a record of the response's own
		// names stays, with the page's other variants; a record of other
		// names goes only where this client's own variant under them is
		// stored, as a lookup's run would have found it: an answer for a
		// variant nothing was stored for is that client's.
		if _, val, err := v.load(ctx, st.base, nil, now); err == nil {
			if s, record := val.(*varySpec); !record {
				add(st.base)
			} else if variant, ok := variantOf(r, s.names); ok && !slices.Equal(s.names, names) && s.lists(v.c.variants, variant) {
				own := v.c.variants.key(st.base, variant, s.names)
				if _, _, err := v.load(ctx, own, nil, now); err == nil {
					add(own)
					add(st.base)
				}
			}
		}
	case spec != nil && (len(names) == 0 || !slices.Equal(spec.names, names)) && foundOwn:
		// Only where the run found its own entry: an answer for a
		// variant nothing was stored for (a locale redirect, a CORS
		// layer adding Origin to Vary for a request with Origin) is that
		// client's, and the others' variants keep the freshness they
		// were given.
		add(st.base)
	}
	if len(keys) > 0 {
		for _, k := range v.otherFormKeys(ctx, r, key, now) {
			add(k)
		}
	}
	for _, k := range keys {
		if err := v.c.store.del(ctx, k); err != nil {
			v.failOpen(r, "view drop superseded", err)
		}
	}
}

// otherFormKeys returns, where the page stored under key (r's entry, its
// base key or a variant's under it) is dropped, the key of the same page's
// entry for r in the other type form (appendViewKey), which has an entry of
// its own: a page removed is removed for the requests of both forms. That
// is the other form's entry where it has no Vary, or r's variant under its
// Vary record where the record lists it (the others' variants keep the
// freshness they were given, as in dropSuperseded); none where nothing is
// stored, or key is not r's. It reads the other form's base key.
func (v *view) otherFormKeys(ctx context.Context, r *http.Request, key string, now time.Time) []string {
	var user string
	if v.cfg.userFunc != nil {
		user = v.cfg.userFunc(r)
	}
	untyped, typed := v.viewKey(r, user, false), v.viewKey(r, user, true)
	var other string
	switch {
	case key == untyped || strings.HasPrefix(key, untyped+"#vary:"):
		other = typed
	case key == typed || strings.HasPrefix(key, typed+"#vary:"):
		other = untyped
	default:
		return nil
	}
	_, val, err := v.load(ctx, other, nil, now)
	if err != nil {
		return nil
	}
	s, record := val.(*varySpec)
	if !record {
		return []string{other}
	}
	if variant, ok := variantOf(r, s.names); ok && s.lists(v.c.variants, variant) {
		return []string{v.c.variants.key(other, variant, s.names)}
	}
	return nil
}

// refreshable reports whether a background refresh may be made of r, for
// an entry whose Vary names are names: not for a request with a Cookie the
// entry does not vary on, in a view without UserKey or KeyFunc
// (cookieBound), unless every cookie it sends is named by InertCookies. A
// refresh runs without the writers of the middleware outside the view: a
// session middleware that adds Set-Cookie as the response passes its
// writer (a client signed in by a remember-me cookie) keeps that client's
// page out of the store on its miss, and would not be there to do so on
// its refresh, while a refresh without the cookie would make a page no
// request that reaches the view gets (a members area behind an auth
// middleware answers a request without one with its login form). Such a
// request, finding the entry stale, runs as a miss, through its own
// writers; within RefreshAhead it is served the fresh entry and starts
// nothing. Requests without a Cookie refresh the entry as before, and so
// do requests whose cookies are all inert, whose refresh runs without
// them (backgroundRequest). Nor is one made of a request whose
// Authorization the refresh would run without (credentialsDropped): the
// refresh keeps the request's context values, where an authentication
// middleware outside the view put the account it names. Nor is one made of
// a request whose variant the refresh would not make: one with a field the
// entry's Vary names that the refresh runs without (varyDropped).
func (v *view) refreshable(r *http.Request, names []string) bool {
	return (len(r.Header["Cookie"]) == 0 || v.refreshableWithCookie(r, names)) && !v.credentialsDropped(r) &&
		(len(names) == 0 || !v.varyDropped(r, names))
}

// refreshableWithCookie is refreshable for a request with a Cookie, out of
// line so that refreshable inlines where most requests have none.
func (v *view) refreshableWithCookie(r *http.Request, names []string) bool {
	return !v.cookieBound(r, names) || v.onlyInertCookies(r)
}

// cookieBound reports whether r's Cookie ties a refresh of its entry to r's
// own writers (see refreshable): r has one, the entry does not vary on it,
// and the view has neither UserKey nor KeyFunc.
func (v *view) cookieBound(r *http.Request, names []string) bool {
	return v.cfg.userFunc == nil && v.keyFunc == nil && len(r.Header["Cookie"]) > 0 && !slices.Contains(names, "Cookie")
}

// onlyInertCookies reports whether r sends at least one cookie and every
// one is named by InertCookies, reading r's Cookie lines as
// Request.Cookies does. A part Request.Cookies drops (a name that is not
// a token, a value with a byte no cookie value has) counts as a cookie not
// named. It allocates nothing, and reads nothing in a view without
// InertCookies.
func (v *view) onlyInertCookies(r *http.Request) bool {
	if len(v.cfg.inertCookies) == 0 {
		return false
	}
	seen := false
	for _, line := range r.Header["Cookie"] {
		var part string
		for line = textproto.TrimString(line); line != ""; {
			part, line, _ = strings.Cut(line, ";")
			if part = textproto.TrimString(part); part == "" {
				continue
			}
			name, value, _ := strings.Cut(part, "=")
			if !v.cfg.inertCookie(textproto.TrimString(name)) || !validCookieValue(value) {
				return false
			}
			seen = true
		}
	}
	return seen
}

// inertCookie reports whether the cookie name is named by InertCookies.
func (c *viewConfig) inertCookie(name string) bool {
	if !header.IsToken(name) {
		return false
	}
	for _, p := range c.inertCookies {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(name, prefix) || name == p {
			return true
		}
	}
	return false
}

// validCookieValue reports whether s is a cookie value Request.Cookies
// keeps: optionally quoted, of printable ASCII bytes other than '"', ';'
// and '\\'.
func validCookieValue(s string) bool {
	if len(s) > 1 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x20 || b >= 0x7f || b == '"' || b == ';' || b == '\\' {
			return false
		}
	}
	return true
}

// revalidate refreshes r's entry under base in the background
// (stale-while-revalidate, RefreshAhead) and reports true: once per key at a
// time, at most maxRefreshes per view (per route of a CachedMux: slotsFor)
// and the overdue ones (refreshSlots), never after the Cache is closed; a
// refresh that finds no free slot is skipped (false). names are the Vary
// names of the stored response, and e the entry read: the refresh runs
// nothing if its key holds one stored after e when it starts (see
// replacedSince), and, ahead, holds off the next for aheadHoldFor(e) if it
// renews nothing. It is called before anything is
// served on w: the refresh's writer starts with what outer middleware set
// on it. ahead marks a refresh of RefreshAhead's (runState.ahead), of e
// read at now (e.clockAt: the hit's reading).
func (v *view) revalidate(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, names []string, e *entry, ahead bool, now int64) bool {
	key := base
	if len(names) > 0 {
		if httpcache.VaryTooLarge(r, names) {
			return false // never stored: see errVaryTooLarge
		}
		key = v.c.variants.key(base, httpcache.VariantKey(r, names), names)
	}
	x := refreshRun{outer: w.Header(), replaces: e.Created}
	if ahead {
		x.hold, x.aim = aheadHoldFor(v.cfg.ahead, e), aimAt(e, now)
	}
	st := newRefresh(runState{base: base, f: found{key: key}, ttl: ttl, ahead: ahead}, x)
	return v.refreshInBackground(v.slotsFor(r), st,
		func() *http.Request { return v.backgroundRequest(r, names) })
}

// slotsFor returns the refresh slots of r's route: the view's, or, in a
// CachedMux, those of the pattern ServeHTTP set on r, so that refreshes
// stuck on one route (a slow dependency of its own) leave the others
// theirs.
func (v *view) slotsFor(r *http.Request) *refreshSlots {
	if v.mux == nil {
		return &v.refreshSlots
	}
	if s, ok := v.routeSlots.Load(r.Pattern); ok {
		return s.(*refreshSlots)
	}
	s, _ := v.routeSlots.LoadOrStore(r.Pattern, new(refreshSlots))
	return s.(*refreshSlots)
}

// refreshInBackground runs st in the background, as revalidate says, for
// the request that request makes once a slot is taken. At most one refresh
// of an entry (st.f.key: a variant's own key) runs at a time, in this
// process and, with Lease, in all. The run's writer starts with a copy of
// st.refresh.outer: the fields outer middleware set for the client (a Vary of
// theirs keys the variants as on the client's path; a Set-Cookie or
// Cache-Control of theirs keeps the response out as there). A refresh of an
// entry that was replaced since the request read it (st.refresh.replaces) runs
// nothing: see replacedSince; one that runs nothing in place of a hold
// (aheadHold) puts it back (putBackHold), as does a stale entry's that
// renews nothing, and one of RefreshAhead's that fails in its place keeps
// it, until its end, in its own (holdAhead). A refresh of RefreshAhead's (st.ahead) is
// counted in Stats.AheadRefreshes once it runs: not one that another
// process's lease or a newer entry skipped. A refresh that has run for the
// view's CollapseTimeout is overdue: it runs on, still the only one of its
// entry, but gives its slot to the next refresh of another entry that
// finds none free (refreshSlots.take).
func (v *view) refreshInBackground(slots *refreshSlots, st *runState, request func() *http.Request) bool {
	key := st.f.key
	if refreshAskedHook != nil {
		refreshAskedHook(key)
	}
	prev, busy := v.refreshing.LoadOrStore(key, struct{}{})
	if busy {
		// A hold (aheadHold) keeps off RefreshAhead's refreshes of the
		// entry whose refresh failed only: a stale entry's refresh, or a
		// newer entry's, takes its place, once it has a slot.
		if h, held := prev.(*aheadHold); !held || st.ahead && h.keepsOff(st.refresh.aim) {
			return false
		}
	}
	slot, ok := slots.take(time.Now(), v.cfg.collapse)
	if !ok {
		if !busy {
			v.refreshing.Delete(key)
		}
		return false // a hold stays whole
	}
	if busy && refreshHeldHook != nil {
		refreshHeldHook(key)
	}
	var displaced *aheadHold // the hold this refresh takes the place of
	if busy {
		if v.refreshing.CompareAndSwap(key, prev, struct{}{}) {
			displaced = prev.(*aheadHold)
		} else if _, taken := v.refreshing.LoadOrStore(key, struct{}{}); taken {
			// The hold ended meanwhile (its timer), which leaves the key
			// free, or another refresh took its place.
			slots.give(slot)
			return false
		}
	}
	failed := false // RefreshAhead's refresh ran and renewed nothing
	ran := false    // the handler ran
	done := func() {
		slots.give(slot)
		switch {
		case failed:
			holdAhead(&v.refreshing, key, st.refresh.hold, st.refresh.aim, displaced)
		case displaced != nil && (!ran || !st.renewed):
			// It ran nothing, or it was a stale entry's and renewed
			// nothing: the origin still fails for the entries held.
			putBackHold(&v.refreshing, key, displaced)
		default:
			v.refreshing.Delete(key)
		}
	}
	r2 := request()
	dw := &discardWriter{h: st.refresh.outer.Clone()}
	if dw.h == nil {
		dw.h = make(http.Header)
	}
	st.refresh.outer = nil
	started := v.c.goBackground(func() {
		defer func() {
			if p := recover(); p != nil {
				v.failOpen(r2, "view refresh", fmt.Errorf("caching: handler panic: %v", p))
			}
			done()
		}()
		if l, ok := v.c.takeLease(r2.Context(), key, v.lease); !ok {
			return // another process refreshes it
		} else if l != nil {
			defer v.c.releaseLease(l, true)
		}
		if v.replacedSince(r2, key, st.refresh.replaces) {
			return // another refresh (or run) stored it meanwhile
		}
		if st.ahead {
			v.c.stats.ahead.Add(1)
			failed = true // until run renews the entry; a panic leaves it so
		}
		ran = true
		v.run(dw, r2, st)
		failed = st.ahead && !st.renewed
	})
	if !started {
		done()
	}
	return started
}

// replacedSince reports whether key holds an entry stored after the one a
// background refresh was asked for (created: its entry.Created; 0 when
// none was read), read now, in the refresh's goroutine. A request that read
// the entry just before another request's refresh of it stored, and looked
// for a refresh in progress just after that one ended, starts a refresh of
// an entry already replaced: without this, one more run of the handler (in
// a SharedCache view, one more conditional request to the origin) for
// every hot key at each refresh, under load. The same holds across
// processes, for a refresh another process ran. A read that fails (the
// backend is down or slow: bounded by Options.Timeout) or finds no entry
// lets the refresh run, as it did before this read; an entry newer but
// stale already is refreshed by the next request that reads it. r is the
// refresh's request, whose tag versions are read with the entry, as
// findIn reads them: an entry invalidated since is none.
//
// Created is its writer's wall clock, and nothing else orders a key's
// writes (an entry carries no sequence, and the backends offer none to
// all of them), so "stored after" is judged by two processes' clocks. An
// entry dated before the one the hit read, though newer (its writer's
// clock behind), lets the refresh run: one more run, as before this read.
// An entry older than the one the hit read, though dated after it (its
// writer's clock ahead by more than the time between the two writes),
// makes the refresh run nothing (and, read before the write, store
// nothing): only reads that go back in time find one (read replicas that
// lag, which return the entry of before), and the next due hit asks
// again; an entry never refreshed expires, and is missed, as without the
// refresh. Neither equality (every older entry a replica returns would
// count as replaced) nor a tolerance (a refresh stored just before this
// one, the hot key's case this read is for, would run again) does better
// without a sequence in every entry.
func (v *view) replacedSince(r *http.Request, key string, created int64) bool {
	if created == 0 {
		return false
	}
	var tagKeys []string
	if v.c.store.local == nil {
		tagKeys = v.tagKeysFor(r) // one round trip, as findIn's
	}
	e, err := v.c.store.lookup(r.Context(), key, tagKeys, v.c.clock())
	return err == nil && e.Created > created
}

// refreshAskedHook, when set, is called by refreshInBackground with the key
// of the refresh asked for, before it looks for one of that key in
// progress: a test serves there the requests that may come in that window
// (one that starts a refresh of the same entry, which ends before this one
// is looked for). Nil outside tests; set only by a test that does not run
// in parallel, and reset when it ends.
var refreshAskedHook func(key string)

// refreshHeldHook, when set, is called by refreshInBackground with the key
// of a stale entry's refresh that found an aheadHold, once it has a slot
// and before it takes the hold's place: a test lets the hold's timer fire
// there. Nil outside tests; set only by a test that does not run in
// parallel, and reset when it ends.
var refreshHeldHook func(key string)

// discardWriter is the ResponseWriter of a background refresh or a Warm.
// It flushes, as a client's writer does: a handler that flushes (a reverse
// proxy, for every chunk of a chunked origin response) would otherwise
// reach past the recorder (http.ResponseController), and its response
// would never be stored by a refresh, even in a SharedCache view that
// stores it for a client.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
func (d *discardWriter) Flush()                      {}

// NeverBlocks marks d as a writer whose writes never wait on a client
// (httpcache.NeverBlocks): a refresh's first write is not bounded by
// httpcache.FirstWriteWait, so that a loaded machine never leaves its
// response unstored.
func (d *discardWriter) NeverBlocks() {}

// cacheTimingDesc are the Server-Timing descriptions of the cache statuses.
var cacheTimingDesc = [...]string{
	httpcache.Hit:    "hit",
	httpcache.Stale:  "stale",
	httpcache.Miss:   "miss",
	httpcache.Bypass: "bypass",
}

// reportCache tells timing's Server-Timing what the cache did
// (cache;desc=hit); it costs a context lookup without timing's middleware.
func reportCache(r *http.Request, st httpcache.CacheStatus) {
	timing.Add(r.Context(), "cache", 0, cacheTimingDesc[st])
}

// Response is a response as a view stores it: as StoreIf sees it before it
// is stored, and as StaleIf and Cache.Peek see it once stored. Its Header
// and Body must not be modified.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Age is how long ago the response was stored: 0 for StoreIf.
	Age time.Duration
}
