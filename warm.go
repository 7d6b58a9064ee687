package caching

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/go-caching/caching/internal/header"
	"github.com/go-caching/caching/internal/httpcache"
)

// WarmTarget is one request Cache.Warm makes.
type WarmTarget struct {
	// URL is the absolute URL of the request, with its query string:
	// "https://shop.example/products?page=2". Its scheme and host are the
	// request's as a view's key sees them: "https" for a request that
	// reached the server over TLS, "http" otherwise (behind a proxy that
	// ends TLS, the server's requests are plain http), and the Host header.
	// A URL that is not absolute, not http or https, or has a fragment or
	// user information, is a failed target.
	URL string
	// Header holds the request's headers: none when nil. Give the ones the
	// stored variant depends on (Accept-Encoding, Accept-Language: the
	// headers a response's Vary names) to warm that variant. Names are read
	// as a server reads them, in any case ("accept-language" is
	// Accept-Language); a name that is not a field name fails the target.
	Header http.Header
}

// WarmReport says what Cache.Warm did: how many targets were stored, refused
// by the view and failed, and each target's result in the order given.
type WarmReport struct {
	Stored, Refused, Failed int
	Results                 []WarmResult
}

// WarmResult is what happened to one target of Cache.Warm. Exactly one of
// three holds: Stored; Err is not nil (failed); or Reason says why the view
// did not store the response (refused).
type WarmResult struct {
	// URL is the target's URL, as given.
	URL string
	// Status is the status the handler answered; 0 when it did not run
	// through a view (a failed target, or one the view passed through).
	Status int
	// Stored reports that the response is stored, replacing any entry.
	Stored bool
	// Reason says why a response was not stored (refused), in the words
	// of the view's rules: "status" (not in StoreStatuses), "set-cookie",
	// "no-store", "private", "no-cache", "vary-star", "max-age",
	// "streaming", "too-large", "trailer", "length" (a body shorter or
	// longer than its Content-Length), "partial" (a 206), "no-freshness"
	// (SharedCache: a response with no freshness information),
	// "request-no-store" (HonorRequestCacheControl: the request's
	// no-store), "filter" (StoreIf), "variants"
	// (MaxVariants), "vary" (a Vary naming too many headers), "vary-client"
	// (a Vary naming Forwarded, X-Forwarded-For or X-Real-IP), "vary-large"
	// (the request's fields the Vary names pass 16 KiB: see MaxVariants), "coding" (a
	// Content-Encoding the request's Accept-Encoding refuses), "bypass"
	// (BypassIf), "authorization" (Authorization without UserKey),
	// "skip-route" (SkipRoutes), "head-route" and "host-route" (CachedMux:
	// a HEAD route of its own, a route naming a host with IgnoreHost),
	// "backend" (the backend failed; the error is in Stats.Errors and the
	// log), "cleared" (Cache.Clear was called while
	// the handler ran), "expired" (SharedCache: a response no request can
	// be served, without lifetime, validator or stale window: max-age=0,
	// public alone; it deletes the entry it replaces). "" when stored or
	// failed.
	Reason string
	// Err says why the target failed: a bad URL, a request that reached no
	// view of this Cache (an unrouted path, or a handler not wrapped by
	// Cached), a handler that panicked, a context that ended (ctx, or the
	// Cache closed), or a middleware that returned while the view's
	// handler still ran (http.TimeoutHandler's timeout: an error wrapping
	// context.DeadlineExceeded; TimeoutHandler ends the request's context,
	// and the view then stores nothing).
	Err error
}

// errNoView is the failure of a Warm target that no view of the Cache
// answered.
var errNoView = errors.New("caching: warm: the request reached no cached view of this Cache")

// The reasons a view gives, besides httpcache's, for a response it did not
// store (WarmResult.Reason).
const (
	reasonBypass     httpcache.Reason = "bypass"      // BypassIf
	reasonSkipRoute  httpcache.Reason = "skip-route"  // SkipRoutes
	reasonHostRoute  httpcache.Reason = "host-route"  // IgnoreHost, and a CachedMux route that names a host
	reasonHeadRoute  httpcache.Reason = "head-route"  // a HEAD the mux routes apart from the GET
	reasonVariants   httpcache.Reason = "variants"    // MaxVariants reached
	reasonVaryNames  httpcache.Reason = "vary"        // more Vary names than a record holds
	reasonVaryClient httpcache.Reason = "vary-client" // Vary names a field a proxy sets from the client's address
	reasonVaryLarge  httpcache.Reason = "vary-large"  // the request's fields a Vary names pass httpcache.MaxVaryBytes
	reasonCoding     httpcache.Reason = "coding"      // a Content-Encoding the request does not accept
	reasonCanceled   httpcache.Reason = "canceled"    // the request's context ended
	reasonCleared    httpcache.Reason = "cleared"     // a Clear began while the handler ran
	reasonExpired    httpcache.Reason = "expired"     // SharedCache: over on arrival, with nothing to revalidate it by
	reasonTypeForm   httpcache.Reason = "type-form"   // a hit whose writer differs in its Content-Type (Snapshot.OtherTypeForm: an entry stored before the form was keyed); a Warm never hits
)

// Warm runs a GET request for each target through h, a handler that
// contains views of this Cache (made by Cached or CachedMux, with any
// middleware around them), and stores the responses as if clients had
// asked: each view builds its key, tags and Vary variant from the request
// as it would for a client. Use it to fill the cache after a deploy or a
// Clear, from a job or at start-up.
//
// Every target runs the handler, even when a fresh entry is stored, which
// the new response replaces (as RefreshIf would). The targets run one after
// the other, on the caller's goroutine, with ctx (cancelled as well when
// the Cache is closed; the targets not run yet then fail). Warm requests
// are not counted in Stats; a backend error is counted in Stats.Errors and
// logged as for any request. A panic in the handler is recovered and
// reported as the target's failure. The response bodies are discarded.
//
// The requests are an anonymous client's, as the responses are stored for
// everyone: their contexts carry ctx's cancellation and deadline but none
// of its values (Warm called from an admin's request must not render the
// pages as that admin: a user, a tenant, a session in the context), and
// their RemoteAddr is 192.0.2.1:0 (TEST-NET-1: neither loopback nor a
// private network, so that a handler that shows more to local or internal
// callers renders what a remote client gets). Their contexts hold
// http.ServerContextKey (a placeholder *http.Server, never started), as a
// server's requests do: httputil.ReverseProxy aborts a response whose
// origin breaks off (a failed target) only for such a request, and would
// otherwise return half of it, which a SharedCache view would store.
// Their Body is http.NoBody, never nil, as a server's request's is. An
// https target's request has r.TLS set, with ServerName the URL's host (in
// lower case, without the port; none for an IP address), the name a TLS
// client asks for (SNI), so that a handler that serves several hosts by
// their name renders the host's page; the rest of the connection state
// (certificates, version) is left empty.
//
// Warm is safe for concurrent use; while it runs, each request to a view
// of the Cache costs one more context lookup.
func (c *Cache) Warm(ctx context.Context, h http.Handler, targets ...WarmTarget) WarmReport {
	c.warming.Add(1)
	defer c.warming.Add(-1)
	base := context.Background()
	if d, ok := ctx.Deadline(); ok {
		var cancelD context.CancelFunc
		base, cancelD = context.WithDeadline(base, d)
		defer cancelD()
	}
	wctx, cancel := context.WithCancelCause(base)
	defer cancel(nil)
	stopCaller := context.AfterFunc(ctx, func() { cancel(context.Cause(ctx)) })
	defer stopCaller()
	stop := context.AfterFunc(c.life, func() { cancel(context.Canceled) })
	defer stop()
	// AfterFunc cancels on a goroutine of its own, maybe after a target
	// ran: a context that ended already ends the targets at once.
	if ctx.Err() != nil {
		cancel(context.Cause(ctx))
	}
	if c.life.Err() != nil {
		cancel(context.Canceled)
	}
	rep := WarmReport{Results: make([]WarmResult, len(targets))}
	for i, t := range targets {
		res := c.warmOne(wctx, h, t)
		switch {
		case res.Err != nil:
			rep.Failed++
		case res.Stored:
			rep.Stored++
		default:
			rep.Refused++
		}
		rep.Results[i] = res
	}
	return rep
}

// warmOne runs one target of Warm.
func (c *Cache) warmOne(ctx context.Context, h http.Handler, t WarmTarget) (res WarmResult) {
	res.URL = t.URL
	if err := ctx.Err(); err != nil {
		res.Err = fmt.Errorf("caching: warm: %w", err)
		return res
	}
	r, err := warmRequest(ctx, t)
	if err != nil {
		res.Err = err
		return res
	}
	p := &warmProbe{c: c}
	// As a server's request: a reverse proxy whose origin breaks off
	// panics (a failed target) rather than have its half stored.
	sctx, _ := withServer(context.WithValue(ctx, warmKey{}, p))
	r = r.WithContext(sctx)
	defer func() {
		if v := recover(); v != nil {
			res = WarmResult{URL: t.URL, Status: p.outcome().status, Err: fmt.Errorf("caching: warm: handler panicked: %v", v)}
		}
	}()
	h.ServeHTTP(&discardWriter{h: make(http.Header)}, r)
	o := p.outcome()
	res.Status = o.status
	switch {
	case !o.reached:
		res.Err = errNoView
	case o.running:
		// A middleware gave up on the view and returned (one that
		// bounds the handler by a timeout, as http.TimeoutHandler does,
		// ending the request's context): what the view does now is not
		// this target's outcome, and with the context ended it stores
		// nothing.
		res.Err = errWarmAbandoned
	case o.reason == reasonCanceled:
		res.Err = fmt.Errorf("caching: warm: %w", context.Cause(ctx))
	case o.reason == httpcache.ReasonNone:
		res.Stored = true
	default:
		res.Reason = string(o.reason)
	}
	return res
}

// errWarmAbandoned is the failure of a Warm target whose handler chain
// returned while the view's handler still ran.
var errWarmAbandoned = fmt.Errorf("caching: warm: the handler returned before the cached view it reached did (a timeout middleware such as http.TimeoutHandler gave up on it): %w", context.DeadlineExceeded)

// warmRemoteAddr is the RemoteAddr of Warm's requests: an address of
// TEST-NET-1 (RFC 5737), neither loopback nor private, so that a handler
// that trusts local or internal callers treats them as a remote client.
const warmRemoteAddr = "192.0.2.1:0"

// warmRequest is the request of target t, with ctx.
func warmRequest(ctx context.Context, t WarmTarget) (*http.Request, error) {
	u, err := url.Parse(t.URL)
	switch {
	case err != nil:
		return nil, fmt.Errorf("caching: warm: target: %w", err)
	case u.Scheme != "http" && u.Scheme != "https" || u.Host == "" || u.Opaque != "":
		return nil, fmt.Errorf("caching: warm: target %q: want an absolute http:// or https:// URL", t.URL)
	case u.User != nil || u.Fragment != "":
		return nil, fmt.Errorf("caching: warm: target %q: a target has no user information or fragment", t.URL)
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("caching: warm: target: %w", err)
	}
	// A server's request always has a Body: handlers close or drain it.
	r.Body = http.NoBody
	// As a server sees it: the request target in RequestURI and URL (path
	// and query only; "/" for a URL without a path, as a client sends it),
	// the authority in Host.
	r.RequestURI = u.RequestURI()
	if u.Path == "" {
		u.Path = "/"
	}
	r.URL = &url.URL{Path: u.Path, RawPath: u.RawPath, RawQuery: u.RawQuery}
	r.Host = u.Host
	r.RemoteAddr = warmRemoteAddr
	if u.Scheme == "https" {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: serverName(u.Hostname())}
	}
	// As a server reads them: field names canonical (a map literal's
	// "accept-language" would reach the handler where no client request's
	// does, and store a variant no request reads), the lines of names that
	// differ only in case together.
	r.Header = make(http.Header, len(t.Header))
	for _, k := range slices.Sorted(maps.Keys(t.Header)) { // lines merged in one order
		vs := t.Header[k]
		if !header.IsToken(k) {
			return nil, fmt.Errorf("caching: warm: target %q: header name %q is not a field name", t.URL, k)
		}
		ck := http.CanonicalHeaderKey(k)
		r.Header[ck] = append(r.Header[ck], vs...)
	}
	delete(r.Header, "Host") // a server moves it to r.Host
	return r, nil
}

// serverName is the TLS server name (SNI) a client sends for host, a URL's
// host without its port: host in lower case, without a trailing dot, as
// browsers send it; none for an IP address, as TLS clients send none.
func serverName(host string) string {
	if _, err := netip.ParseAddr(host); err == nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// warmKey is the context key of a Warm request's probe.
type warmKey struct{}

// warmProbe is how a view tells Warm what it did with a request: filled
// in by the view of Cache c that the request reaches (pass or run). The
// view may write it on another goroutine than Warm's, and after Warm read
// it (a timeout middleware that returned while the view ran on): its
// fields are read and written under mu, and what the view writes after
// Warm read them is dropped.
type warmProbe struct {
	c       *Cache
	mu      sync.Mutex
	reached bool             // a view of c saw the request
	running int              // the view runs begun and not ended
	status  int              // the handler's status
	reason  httpcache.Reason // why it was not stored; "" when stored
	read    bool             // Warm has read the outcome
}

// record applies f to the probe under its lock, unless Warm has read it.
func (p *warmProbe) record(f func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.read {
		f()
	}
}

// passed records that a view passed the request through for reason.
func (p *warmProbe) passed(reason httpcache.Reason) {
	p.record(func() { p.reached, p.reason = true, reason })
}

// runStarted records that a view runs the handler for the request; its
// reason is "panic" until the run reports its outcome (ran).
func (p *warmProbe) runStarted() {
	p.record(func() { p.reached, p.reason, p.running = true, httpcache.ReasonPanic, p.running+1 })
}

// ran records the outcome of a run whose handler returned.
func (p *warmProbe) ran(status int, reason httpcache.Reason) {
	p.record(func() { p.status, p.reason = status, reason })
}

// runEnded records that a run ended, its handler returned or panicked.
func (p *warmProbe) runEnded() {
	p.record(func() { p.running-- })
}

// outcome returns what the views recorded, and ends the recording.
func (p *warmProbe) outcome() warmProbeOutcome {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.read = true
	return warmProbeOutcome{reached: p.reached, running: p.running > 0, status: p.status, reason: p.reason}
}

// warmProbeOutcome is what a warmProbe holds when Warm reads it.
type warmProbeOutcome struct {
	reached, running bool
	status           int
	reason           httpcache.Reason
}

// warmProbe returns r's probe when r is a request of Warm on this view's
// Cache, else nil. It costs an atomic load unless a Warm is running.
func (v *view) warmProbe(r *http.Request) *warmProbe {
	if v.c.warming.Load() == 0 {
		return nil
	}
	if p, ok := r.Context().Value(warmKey{}).(*warmProbe); ok && p.c == v.c {
		return p
	}
	return nil
}
