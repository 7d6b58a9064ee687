package httpcache

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-caching/caching/internal/header"
)

// Reason says why a request or a response is not stored. The empty Reason
// means it may be stored. Reasons are short, stable, lower-case words, fit
// for a header value (X-Cache: BYPASS) and for tests.
type Reason string

// The reasons Policy gives, and those the recorder and the middleware give.
const (
	ReasonNone          Reason = ""
	ReasonMethod        Reason = "method"             // not a GET (a HEAD is answered from a GET entry, never stored)
	ReasonBody          Reason = "body"               // the request has a body, which the key leaves out
	ReasonAuthorization Reason = "authorization"      // the request has Authorization and keys do not separate users
	ReasonCertificate   Reason = "client-certificate" // the request came with a TLS client certificate and keys do not separate users
	ReasonConnection    Reason = "connection"         // the request's Connection header names a field or an upgrade
	ReasonTarget        Reason = "target"             // the request target holds a part the key leaves out (see UnkeyedTarget)
	ReasonStatus        Reason = "status"             // the status is not in the allow-list
	ReasonPartial       Reason = "partial"            // 206: never stored as if it were the full response
	ReasonSetCookie     Reason = "set-cookie"         // the response sets a cookie
	ReasonNoStore       Reason = "no-store"           // Cache-Control: no-store
	ReasonNoCache       Reason = "no-cache"           // Cache-Control: no-cache (must be revalidated on every use)
	ReasonPrivate       Reason = "private"            // Cache-Control: private
	ReasonVaryStar      Reason = "vary-star"          // Vary: *
	ReasonMaxAge        Reason = "max-age"            // max-age or s-maxage capped the lifetime to zero
	ReasonStreaming     Reason = "streaming"          // the handler flushed, hijacked or used http.ResponseController
	ReasonTooLarge      Reason = "too-large"          // the body passed the size cap
	ReasonPanic         Reason = "panic"              // the handler panicked
)

// DefaultStatuses is the allow-list a zero Policy uses: 200 only.
var DefaultStatuses = []int{http.StatusOK}

// Policy decides which requests and responses may be stored. Its zero value
// stores GET responses with status 200 from requests without credentials
// (Authorization, a TLS client certificate), ignores max-age for the lifetime, and refuses the rest as documented on
// Request and Response. A Policy is read-only once in use and then safe for
// concurrent use.
type Policy struct {
	// Statuses is the allow-list of statuses that may be stored; nil or
	// empty means DefaultStatuses.
	Statuses []int
	// AllowAuthorization lets responses to requests with credentials (an
	// Authorization header, a TLS client certificate) be stored. Set it only
	// when the cache key separates users.
	AllowAuthorization bool
	// RespectMaxAge caps the lifetime with the response's s-maxage, or its
	// max-age when it has no s-maxage. A cap of zero refuses the response.
	RespectMaxAge bool
}

// Request reports why r's response may not be stored, before the handler
// runs: ReasonMethod for anything but GET and HEAD (a HEAD may be answered
// from the GET entry but its own response is never stored: it has no body),
// ReasonBody for a request with a body (see HasBody), ReasonAuthorization
// or ReasonCertificate for a request with credentials unless
// AllowAuthorization is set (see Credentials), ReasonConnection for a request whose Connection header names a field or
// an upgrade (see HopByHop), ReasonTarget for a request whose target
// holds a part no key holds (see UnkeyedTarget).
func (p *Policy) Request(r *http.Request) Reason {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return ReasonMethod
	}
	if HasBody(r) {
		return ReasonBody
	}
	if UnkeyedTarget(r) {
		return ReasonTarget
	}
	if !p.AllowAuthorization {
		if reason := Credentials(r); reason != ReasonNone {
			return reason
		}
	}
	if HopByHop(r) {
		return ReasonConnection
	}
	return ReasonNone
}

// UnkeyedTarget reports whether r's target holds a part that no key
// holds but a router or handler may read, so that two requests answered
// apart would share a key. No browser sends one: it passes through
// uncached. They are:
//   - an absolute URI without "//" ("GET http:foo HTTP/1.1", which net/http
//     accepts): its URL has an empty Path and the rest in URL.Opaque;
//   - user information ("GET http://alice:pw@shop.example/account"), in
//     URL.User, which a handler may read as credentials (RFC 9110 section
//     4.2.4: a recipient should treat it as an error);
//   - a URL host that is not r.Host (when set), whose authority the key holds: over
//     HTTP/2 an absolute :path with another host than :authority, which
//     gorilla/mux's host matchers read (r.URL.Host for an absolute URL);
//   - an absolute target without a host ("GET http:///p", "GET http:/p"):
//     r.Host is then the Host field's while the URL's host is empty.
func UnkeyedTarget(r *http.Request) bool {
	u := r.URL
	if u == nil {
		return false
	}
	// A request made in code (no r.Host) is keyed by its URL's host.
	if u.Opaque != "" || u.User != nil || u.Host != "" && r.Host != "" && u.Host != r.Host {
		return true
	}
	uri := r.RequestURI
	return u.Host == "" && uri != "" && uri[0] != '/' && uri != "*"
}

// Credentials reports whether r carries credentials that may make its
// response one user's: ReasonAuthorization for an Authorization header,
// ReasonCertificate for a TLS client certificate (mutual TLS: a handler
// that reads r.TLS.PeerCertificates answers the client the certificate
// names, and no key holds it), verified or only presented
// (tls.RequestClientCert hands the handler a certificate it did not
// verify), else ReasonNone. Behind a proxy that ends TLS, the certificate
// reaches the handler, if at all, in a header the proxy sets: an input like
// any other, which the response's Vary must name.
func Credentials(r *http.Request) Reason {
	switch {
	case len(r.Header["Authorization"]) > 0:
		return ReasonAuthorization
	case HasClientCertificate(r):
		return ReasonCertificate
	}
	return ReasonNone
}

// HasClientCertificate reports whether r came over TLS with a client
// certificate.
func HasClientCertificate(r *http.Request) bool {
	return r.TLS != nil && len(r.TLS.PeerCertificates) > 0
}

// HopByHop reports whether r's Connection header lists anything but the
// connection options close and keep-alive and the TE field: a field named
// there is for the connection that carried r, and a proxy below the cache
// (httputil.ReverseProxy) removes it before the origin sees the request
// (RFC 9110 section 7.6.1), so the origin answers another request than the
// one the key and the Vary variant were built from ("Accept-Language: fr"
// with "Connection: Accept-Language" would store the default language's
// page as the French one); and "upgrade" asks for another protocol (section
// 7.8: a WebSocket), which a stored response must never answer. Such a
// request passes through the cache untouched: it is neither answered from
// an entry nor stored, nor does it join another request's run.
//
// One upgrade is not: HTTP/2 over cleartext ("Upgrade: h2c", with its
// HTTP2-Settings field, which curl --http2 sends with every http://
// request). A server that speaks it switches before any handler runs
// (golang.org/x/net/http2/h2c wraps the whole server); one that does not
// answers the request as HTTP/1.1, as if it had not asked.
func HopByHop(r *http.Request) bool {
	lines := r.Header["Connection"]
	if len(lines) == 0 {
		return false
	}
	for e := range header.Elements(lines) {
		switch {
		case strings.EqualFold(e, "close"), strings.EqualFold(e, "keep-alive"), strings.EqualFold(e, "te"),
			strings.EqualFold(e, "http2-settings"):
		case strings.EqualFold(e, "upgrade") && onlyH2C(r.Header["Upgrade"]):
		default:
			return true
		}
	}
	return false
}

// onlyH2C reports whether the Upgrade lines ask for h2c and nothing else.
func onlyH2C(lines []string) bool {
	n := 0
	for e := range header.Elements(lines) {
		if !strings.EqualFold(e, "h2c") {
			return false
		}
		n++
	}
	return n > 0
}

// HasBody reports whether r, a request a server received, has a body: a
// Content-Length other than 0, or a Transfer-Encoding (chunked; over
// HTTP/2, a body of unknown length has a ContentLength of -1). A GET with a
// body (a search API's query, as Elasticsearch's GET _search) may be
// answered by its body, which no key holds: it is never cached. A request
// without a body has a ContentLength of 0, whatever its Body (nil,
// http.NoBody, or a server's empty body).
func HasBody(r *http.Request) bool {
	return r.ContentLength != 0 || len(r.TransferEncoding) > 0
}

// Response reports whether a response with this status and header may be
// stored for ttl, and for how long: ttl, or less when RespectMaxAge is set
// and the response's s-maxage or max-age is smaller. A refused response
// gets a zero duration and the first reason that applies, in this order:
// a 206 (a part of the response, whatever Statuses says), the status,
// Set-Cookie, no-store, private, no-cache (found anywhere in a malformed
// Cache-Control too: see CacheControl.addStrays), Vary: *, a zero max-age.
func (p *Policy) Response(status int, h http.Header, ttl time.Duration) (time.Duration, Reason) {
	if status == http.StatusPartialContent {
		return 0, ReasonPartial
	}
	if !p.statusAllowed(status) {
		return 0, ReasonStatus
	}
	if len(h["Set-Cookie"]) > 0 {
		return 0, ReasonSetCookie
	}
	cc := ParseCacheControl(h["Cache-Control"])
	cc.addStrays(h["Cache-Control"], false)
	switch {
	case cc.NoStore:
		return 0, ReasonNoStore
	case cc.Private:
		return 0, ReasonPrivate
	case cc.NoCache:
		return 0, ReasonNoCache
	}
	if _, star := ParseVary(h); star {
		return 0, ReasonVaryStar
	}
	if p.RespectMaxAge {
		limit := cc.MaxAge
		if cc.SMaxAge.Valid {
			limit = cc.SMaxAge
		}
		if limit.Valid {
			if limit.Seconds == 0 {
				return 0, ReasonMaxAge
			}
			if d := limit.Duration(); ttl <= 0 || d < ttl {
				ttl = d
			}
		}
	}
	return ttl, ReasonNone
}

func (p *Policy) statusAllowed(status int) bool {
	statuses := p.Statuses
	if len(statuses) == 0 {
		statuses = DefaultStatuses
	}
	for _, s := range statuses {
		if s == status {
			return true
		}
	}
	return false
}
