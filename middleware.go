package caching

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/go-caching/caching/internal/httpcache"
	"github.com/go-caching/caching/timing"
)

// Cached returns middleware that caches the responses of the handler it
// wraps for ttl (0: the Cache's DefaultTTL; Forever: until invalidated or
// evicted), as Flask-Caching's @cached does, but only where it is safe:
//
//   - Only GET responses are stored; a HEAD is answered from the GET entry
//     (headers, no body). Other methods pass through untouched.
//   - Only statuses in the allow-list (CacheStatuses; default 200), never a
//     response with Set-Cookie or Cache-Control no-store, private or
//     no-cache, never Vary: *, never a body over MaxBodySize (default 1 MiB:
//     such a response passes through, never buffered past the cap).
//   - Requests with an Authorization header are not cached unless UserKey
//     says whose they are.
//   - The key is KeyPrefix (default "view/" and the path), the canonical query
//     string (?b=2&a=1 is ?a=1&b=2; PathOnly leaves it out), Version, UserKey,
//     and the values of the request headers the response's Vary names.
//   - A hit replays the stored status, header and body with Age and an ETag,
//     and answers If-None-Match / If-Modified-Since with 304 Not Modified.
//   - Concurrent misses of one key run the handler once; the others get its
//     response, or run the handler themselves as soon as it is known that the
//     response will not be stored (streaming, too large, refused).
//   - A handler that calls Flush, hijacks the connection, or uses
//     http.ResponseController passes through uncached and unbroken.
//   - When the backend fails or is slow (Options.Timeout), the handler serves
//     the request; the error is counted and logged at most once per
//     LogInterval. A panic in the handler reaches the caller's recoverer and
//     nothing is stored.
//
// With StaleWhileRevalidate, an expired entry is served at once (STALE) while
// one background run of the handler, per key and at most 8 per wrapped
// handler at a time, refreshes it: these goroutines end with the handler
// run. With StaleIfError, an expired entry is served instead of a 5xx or a
// panic of the handler (the panic is then counted and logged as an error).
//
// Cache-Control directives of the request are ignored: a client cannot make
// the handler run (use ForceRefresh for that) or keep a response out of the
// cache.
//
// Cached panics if ttl is negative or an option is invalid: these are
// programming errors, found at start-up. The middleware is safe for
// concurrent use. Each handler it wraps has its own flight of misses.
func (c *Cache) Cached(ttl time.Duration, opts ...ViewOption) func(http.Handler) http.Handler {
	cfg := c.mustViewConfig(ttl, opts)
	return func(next http.Handler) http.Handler {
		return c.newView(ttl, cfg, next)
	}
}

// CachedMux wraps a whole http.ServeMux: each request to a route is cached
// as by Cached, for ttl, or for the TTL that RouteTTL gives the route's
// pattern; routes named by SkipRoutes, and requests no route matches, pass
// through. Patterns are those of the mux (Go 1.22 syntax, r.Pattern), found
// with mux.Handler before the cache is read. It panics like Cached.
func (c *Cache) CachedMux(mux *http.ServeMux, ttl time.Duration, opts ...ViewOption) http.Handler {
	cfg := c.mustViewConfig(ttl, opts)
	for _, t := range cfg.routeTTL {
		if _, err := c.resolveTTL(t); err != nil {
			panic(fmt.Sprintf("caching: CachedMux: RouteTTL: %v", err))
		}
	}
	v := c.newView(ttl, cfg, mux)
	v.mux = mux
	return v
}

func (c *Cache) mustViewConfig(ttl time.Duration, opts []ViewOption) viewConfig {
	if _, err := c.resolveTTL(ttl); err != nil {
		panic(fmt.Sprintf("caching: Cached: %v", err))
	}
	cfg, err := newViewConfig(opts)
	if err != nil {
		panic(err.Error())
	}
	return cfg
}

// maxRefreshes bounds the background refreshes (stale-while-revalidate) of
// one view running at a time.
const maxRefreshes = 8

// view is one cached handler (or mux).
type view struct {
	c      *Cache
	cfg    viewConfig
	next   http.Handler
	mux    *http.ServeMux // CachedMux only
	ttl    time.Duration  // as given: 0 default, Forever
	policy httpcache.Policy
	extra  time.Duration // how long entries are kept past their TTL

	tagKeys                []string // backend keys of cfg.tags, sorted
	prefixHead, prefixTail string   // KeyPrefix around its %s
	prefixHasPath          bool
	flight                 viewFlight
	refreshing             sync.Map // backend key -> refresh in progress
	refreshSlots           chan struct{}
}

func (c *Cache) newView(ttl time.Duration, cfg viewConfig, next http.Handler) *view {
	v := &view{
		c:    c,
		cfg:  cfg,
		next: next,
		ttl:  ttl,
		policy: httpcache.Policy{
			Statuses:           cfg.statuses,
			AllowAuthorization: cfg.userFunc != nil,
			RespectMaxAge:      cfg.respectMaxAge,
		},
		extra:        max(cfg.swr, cfg.sie),
		tagKeys:      c.tagKeys(cfg.tags),
		refreshSlots: make(chan struct{}, maxRefreshes),
	}
	v.prefixHead, v.prefixTail, v.prefixHasPath = cutPrefixFormat(cfg.keyPrefix)
	return v
}

// found is the result of a lookup: the snapshot and its entry, and what the
// lookup learnt of the key's variants.
type found struct {
	snap    *httpcache.Snapshot
	e       *entry
	fresh   bool
	key     string   // the backend key of the snapshot (base or variant)
	names   []string // the Vary names recorded under the base key, if any
	variant string   // this request's variant for names
}

// ServeHTTP serves r from the cache or through the handler.
func (v *view) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ttl := v.ttl
	if v.mux != nil {
		_, pattern := v.mux.Handler(r)
		if pattern == "" {
			v.mux.ServeHTTP(w, r) // no route: not the cache's business
			return
		}
		if v.cfg.skipRoutes[pattern] {
			v.bypass(w, r)
			return
		}
		if t, ok := v.cfg.routeTTL[pattern]; ok {
			ttl = t
		}
	}
	if v.policy.Request(r) != httpcache.ReasonNone || v.cfg.skip != nil && v.cfg.skip(r) {
		v.bypass(w, r)
		return
	}
	var user string
	if v.cfg.userFunc != nil {
		if user = v.cfg.userFunc(r); user == "" && len(r.Header["Authorization"]) > 0 {
			v.bypass(w, r)
			return
		}
	}
	base := v.key(r, user)
	forced := v.cfg.refresh != nil && v.cfg.refresh(r)
	f := found{key: base}
	var stale *found
	if !forced {
		// One clock reading serves the store's expiry check, freshness and
		// Age: on some virtual machines a reading costs as much as the rest
		// of a hit.
		now := v.c.clock()
		var err error
		f, err = v.find(r, base, now)
		switch {
		case err == nil && f.fresh:
			v.c.stats.hits.Add(1)
			reportCache(r, httpcache.Hit)
			f.snap.Serve(w, r, now, v.cfg.statusHeader, httpcache.Hit)
			return
		case err == nil:
			past := time.Duration(now.UnixNano() - f.e.FreshUntil)
			if past < v.cfg.swr {
				v.c.countStale()
				reportCache(r, httpcache.Stale)
				f.snap.Serve(w, r, now, v.cfg.statusHeader, httpcache.Stale)
				v.revalidate(r, base, ttl)
				return
			}
			if past < v.cfg.sie {
				stale = &f
			}
			v.c.countMiss()
		case errors.Is(err, ErrNotFound):
			v.c.countMiss()
		default:
			v.c.failOpen("view lookup", err)
			v.bypass(w, r)
			return
		}
	}
	if r.Method == http.MethodHead {
		// A HEAD response has no body to store for GET.
		reportCache(r, httpcache.Miss)
		if v.cfg.statusHeader != "" {
			w.Header()[v.cfg.statusHeader] = httpcache.Miss.Values()
		}
		v.next.ServeHTTP(w, r)
		return
	}
	v.miss(w, r, base, f, ttl, stale, forced)
}

// bypass serves r through the handler without the cache.
func (v *view) bypass(w http.ResponseWriter, r *http.Request) {
	reportCache(r, httpcache.Bypass)
	if v.cfg.statusHeader != "" {
		w.Header()[v.cfg.statusHeader] = httpcache.Bypass.Values()
	}
	v.next.ServeHTTP(w, r)
}

// find reads the entry for r under base: the snapshot itself, or the Vary
// spec, then the snapshot of r's variant. Nothing is counted in Stats.
func (v *view) find(r *http.Request, base string, now time.Time) (found, error) {
	f := found{key: base}
	ctx, cancel := v.c.opContext(r.Context())
	defer cancel()
	var tagKeys []string
	if v.c.local == nil {
		// One round trip: the entry with its tag versions. (An in-process
		// store checks the tags the entry records, at no cost.)
		tagKeys = v.tagKeysFor(r.URL.Path)
	}
	e, val, err := v.load(ctx, base, tagKeys, now)
	if err != nil {
		return f, err
	}
	if spec, ok := val.(*varySpec); ok {
		f.names = spec.names
		f.variant = httpcache.VariantKey(r, spec.names)
		f.key = variantKey(base, f.variant)
		if e, val, err = v.load(ctx, f.key, tagKeys, now); err != nil {
			return f, err
		}
	}
	snap, ok := val.(*httpcache.Snapshot)
	if !ok {
		return f, ErrNotFound
	}
	f.snap, f.e, f.fresh = snap, e, v.c.isFreshAt(e, now)
	return f, nil
}

// load reads one entry and its decoded value.
func (v *view) load(ctx context.Context, key string, tagKeys []string, now time.Time) (*entry, any, error) {
	e, err := v.c.lookupUncountedAt(ctx, key, tagKeys, now)
	if err != nil {
		return nil, nil, err
	}
	if e.value != nil {
		return e, e.value, nil
	}
	val, err := decodeViewPayload(e.Payload)
	if err != nil {
		v.c.dropCorrupt(ctx, key)
		return nil, nil, ErrNotFound
	}
	return e, val, nil
}

// miss runs the handler for a request the cache could not answer, once for
// all the concurrent misses of its key.
func (v *view) miss(w http.ResponseWriter, r *http.Request, base string, f found, ttl time.Duration, stale *found, forced bool) {
	if forced {
		v.run(w, r, base, ttl, stale, nil)
		return
	}
	call, leader := v.flight.join(f.key)
	if !leader {
		res, ok := call.wait(r.Context())
		if !ok {
			return // the client is gone
		}
		if res.snap != nil && (len(res.names) == 0 || httpcache.VariantKey(r, res.names) == res.variant) {
			reportCache(r, httpcache.Hit)
			res.snap.Serve(w, r, v.c.clock(), v.cfg.statusHeader, httpcache.Hit)
			return
		}
		v.run(w, r, base, ttl, stale, nil)
		return
	}
	defer v.flight.release(call, viewResult{}) // panics and Goexit included
	// A miss that became leader after the previous leader stored the
	// response finds it now: the handler runs once per stored response.
	if again, err := v.find(r, base, v.c.clock()); err == nil && again.fresh {
		v.flight.release(call, viewResult{snap: again.snap, names: again.names, variant: again.variant})
		reportCache(r, httpcache.Hit)
		again.snap.Serve(w, r, v.c.clock(), v.cfg.statusHeader, httpcache.Hit)
		return
	}
	v.run(w, r, base, ttl, stale, call)
}

// reasonFiltered is the reason of a response that ResponseFilter refused.
const reasonFiltered httpcache.Reason = "filter"

// run runs the handler through a Recorder and stores its response when it
// may be stored. It releases call's waiters as soon as the outcome is known.
// With a stale entry (stale-if-error), a 5xx or a panic before anything was
// sent is answered with the stale entry instead.
func (v *view) run(w http.ResponseWriter, r *http.Request, base string, ttl time.Duration, stale *found, call *viewCall) {
	reportCache(r, httpcache.Miss)
	resolved, _ := v.c.resolveTTL(ttl) // validated at construction
	var storeTTL time.Duration
	rec := &httpcache.Recorder{
		Limit:        v.cfg.maxBody,
		StatusHeader: v.cfg.statusHeader,
		Check: func(status int, h http.Header) httpcache.Reason {
			var reason httpcache.Reason
			storeTTL, reason = v.policy.Response(status, h, resolved)
			return reason
		},
		OnFail: func(httpcache.Reason) { v.flight.release(call, viewResult{}) },
	}
	// Fields set before the handler ran (by outer middleware) are not the
	// handler's response: they are left out of the entry unless it changed them.
	var before http.Header
	if pre := w.Header(); len(pre) > 0 || stale != nil {
		before = pre.Clone()
	}
	if stale != nil {
		rec.Divert = func(status int) bool { return status >= 500 }
	}
	rw := rec.Reset(w)
	returned := false
	defer func() {
		if returned {
			return
		}
		p := recover()
		rec.Fail(httpcache.ReasonPanic)
		if p == nil {
			return // runtime.Goexit: let it go on
		}
		if stale != nil && p != http.ErrAbortHandler && (rec.Diverted() != 0 || !rec.Committed()) {
			v.c.failOpen("view handler panicked, served stale", fmt.Errorf("caching: handler panic: %v", p))
			v.serveStale(w, r, stale, before)
			return
		}
		panic(p)
	}()
	v.next.ServeHTTP(rw, r)
	returned = true
	status, h, body, reason := rec.Finish()
	if rec.Diverted() != 0 {
		v.serveStale(w, r, stale, before)
		return
	}
	if reason == httpcache.ReasonNone && v.cfg.filter != nil && !v.cfg.filter(status, h, len(body)) {
		reason = reasonFiltered
	}
	if reason != httpcache.ReasonNone {
		v.flight.release(call, viewResult{})
		return
	}
	for k, vs := range before {
		if slices.Equal(h[k], vs) {
			delete(h, k)
		}
	}
	now := v.c.clock()
	snap := httpcache.NewSnapshot(status, h, body, now)
	res := viewResult{snap: snap}
	if res.names, _ = httpcache.ParseVary(snap.Header); len(res.names) > maxSpecSize {
		v.flight.release(call, viewResult{})
		return // varies on more headers than a Vary spec holds
	} else if len(res.names) > 0 {
		res.variant = httpcache.VariantKey(r, res.names)
	}
	v.store(r, base, res, storeTTL, now)
	v.flight.release(call, res)
}

// serveStale answers with a stale entry in place of the handler's failed
// response, with the header as it was before the handler ran.
func (v *view) serveStale(w http.ResponseWriter, r *http.Request, stale *found, before http.Header) {
	h := w.Header()
	for k := range h {
		if _, ok := before[k]; !ok {
			delete(h, k)
		}
	}
	for k, vs := range before {
		h[k] = vs
	}
	v.c.stats.misses.Add(-1)
	v.c.countStale()
	reportCache(r, httpcache.Stale)
	stale.snap.Serve(w, r, v.c.clock(), v.cfg.statusHeader, httpcache.Stale)
}

// store writes a response: under the base key when it has no Vary, else a
// Vary spec under the base key and the snapshot under its variant's key.
func (v *view) store(r *http.Request, base string, res viewResult, ttl time.Duration, now time.Time) {
	// The response is sent; the client leaving must not cancel the write.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), v.c.timeout)
	defer cancel()
	tagKeys := v.tagKeysFor(r.URL.Path)
	key := base
	if len(res.names) > 0 {
		se := newEntry(now.UnixNano(), ttl, v.extra)
		v.fill(se, &varySpec{names: res.names})
		if err := v.c.save(ctx, base, se, tagKeys); err != nil {
			v.c.failOpen("view store", err)
			return
		}
		key = variantKey(base, res.variant)
	}
	e := newEntry(now.UnixNano(), ttl, v.extra)
	v.fill(e, res.snap)
	if err := v.c.save(ctx, key, e, tagKeys); err != nil {
		v.c.failOpen("view store", err)
	}
}

// fill puts a view value in e: as is on an in-process store, else encoded.
func (v *view) fill(e *entry, val any) {
	if v.c.local != nil {
		e.value, e.size = val, viewValueSize(val)
		return
	}
	e.Payload = encodeViewValue(val)
}

// revalidate refreshes an expired entry in the background
// (stale-while-revalidate): once per key at a time, at most maxRefreshes
// per view; a refresh that finds no free slot is skipped.
func (v *view) revalidate(r *http.Request, base string, ttl time.Duration) {
	if _, busy := v.refreshing.LoadOrStore(base, struct{}{}); busy {
		return
	}
	select {
	case v.refreshSlots <- struct{}{}:
	default:
		v.refreshing.Delete(base)
		return
	}
	r2 := r.Clone(context.WithoutCancel(r.Context()))
	go func() {
		defer func() {
			if p := recover(); p != nil {
				v.c.failOpen("view refresh", fmt.Errorf("caching: handler panic: %v", p))
			}
			<-v.refreshSlots
			v.refreshing.Delete(base)
		}()
		v.run(&discardWriter{h: make(http.Header)}, r2, base, ttl, nil, nil)
	}()
}

// discardWriter is the ResponseWriter of a background refresh.
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}

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
